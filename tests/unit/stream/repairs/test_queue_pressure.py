"""A cleared agent queue lets the partitions it had stopped fetching be fetched again."""

from __future__ import annotations

import asyncio

from mode.utils.queues import FlowControlEvent, ThrowableQueue

from stream.repairs import queue_pressure

queue_pressure.install()


async def test_an_agent_waiting_on_a_cleared_queue_gets_its_partition_fetched_again() -> None:
    flow = FlowControlEvent(initially_suspended=False)
    queue: ThrowableQueue[int] = ThrowableQueue(maxsize=10, flow_control=flow, clear_on_resume=True)
    stopped: list[str] = []
    fetched_again: list[str] = []
    getter = asyncio.ensure_future(queue.get())  # the agent waits for its next event
    await asyncio.sleep(0)
    for event in range(9):  # one fetch brings a backlog: past 80 % the partition stops being fetched
        queue.put_nowait_enhanced(
            event,
            on_pressure_high=lambda: stopped.append("p0"),
            on_pressure_drop=lambda: fetched_again.append("p0"),
        )
    assert stopped == ["p0"] and fetched_again == []
    flow.resume()  # the end of a rebalance clears the queue before the agent ran
    await asyncio.sleep(0)
    assert not getter.done()  # still waiting: only a new fetch of p0 can wake it
    assert fetched_again == ["p0"]  # without the patch this stays empty and the agent waits forever
    queue.put_nowait(42)
    assert await asyncio.wait_for(getter, timeout=5) == 42


async def test_a_queue_without_pressure_clears_as_before() -> None:
    queue: ThrowableQueue[int] = ThrowableQueue(maxsize=10, flow_control=FlowControlEvent(), clear_on_resume=True)
    queue.put_nowait(1)
    refetches = queue_pressure.refetches_after_clear
    queue.clear()
    assert queue.empty() and queue_pressure.refetches_after_clear == refetches
