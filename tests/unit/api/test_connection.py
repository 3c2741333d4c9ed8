"""Slow consumers: a bounded queue per connection, 4200 for the one that falls behind, others unaffected."""

from __future__ import annotations

import asyncio

from api.channels import ChannelRegistry
from api.connection import Connection
from api.metrics import Metrics


async def test_stalled_connection_is_closed_and_others_keep_receiving() -> None:
    metrics = Metrics()
    never = asyncio.Event()
    received: list[str] = []

    async def stalled_send(text: str) -> None:
        await never.wait()  # a socket whose peer never reads

    async def live_send(text: str) -> None:
        received.append(text)

    slow = Connection("1.1", stalled_send, queue_max=5, metrics=metrics)
    fast = Connection("2.2", live_send, queue_max=5, metrics=metrics)
    writers = [asyncio.create_task(c.run_writer()) for c in (slow, fast)]
    registry = ChannelRegistry()
    registry.subscribe(slow, "public-feed")
    registry.subscribe(fast, "public-feed")
    for i in range(50):
        registry.publish("public-feed", f"frame-{i}")
        await asyncio.sleep(0)  # the fast writer keeps up
    async with asyncio.timeout(2):
        await slow.closing.wait()
    assert slow.close_code == 4200 and not slow.flush_before_close
    assert slow.queued() == 0  # its backlog is dropped at once
    assert received == [f"frame-{i}" for i in range(50)]
    assert fast.open
    assert metrics.value("edge_slow_consumers_closed_total") == 1
    assert not slow.send("late")
    for task in writers:
        task.cancel()


async def test_close_with_flush_writes_what_was_queued() -> None:
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    conn = Connection("1.1", send, queue_max=2, metrics=Metrics())
    conn.send("a")
    conn.send("b")
    conn.close(4009, "bye")  # queue full: makes room for its end marker by dropping the oldest
    await asyncio.wait_for(conn.run_writer(), 1)
    assert sent == ["b"] and conn.close_code == 4009


async def test_frames_are_written_in_order_across_idle_periods_and_zero_means_unbounded() -> None:
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    conn = Connection("1.1", send, queue_max=0, metrics=Metrics())  # <= 0: no limit, as asyncio.Queue
    writer = asyncio.create_task(conn.run_writer())
    assert all(conn.send(f"a{i}") for i in range(5000))
    await asyncio.sleep(0.01)
    assert conn.queued() == 0 and writer.done() is False  # idle again, waiting for the next frame
    conn.send("b")
    conn.close(4009, "bye")
    await asyncio.wait_for(writer, 1)
    assert sent == [*(f"a{i}" for i in range(5000)), "b"]
    assert conn.metrics.value("edge_messages_out_total") == 5001
