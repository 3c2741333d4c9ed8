"""Faust's producer buffer flush hands over every message buffered when it began, even slow ones."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.producer import ProducerBuffer

from stream import producer_flush

producer_flush.install()


class SlowChannel:
    """Hands a message over in 0.3 s: slower than the 0.1 s Faust's own flush waits for one."""

    def __init__(self) -> None:
        self.handed_over: list[int] = []
        self.delay = 0.3

    async def publish_message(self, fut: Any, wait: bool = False) -> None:
        await asyncio.sleep(self.delay)
        self.handed_over.append(fut.n)


def buffered(channel: SlowChannel, n: int) -> Any:
    return SimpleNamespace(n=n, message=SimpleNamespace(channel=channel))


async def stop_when_empty(buffer: ProducerBuffer, channel: SlowChannel, sent: int) -> None:
    channel.delay = 0
    for _ in range(100):
        if len(channel.handed_over) == sent:
            break
        await asyncio.sleep(0.05)
    await buffer.stop()


async def started_buffer() -> ProducerBuffer:
    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    await buffer.start()
    return buffer


async def test_flush_returns_only_after_every_buffered_message_is_handed_over() -> None:
    channel = SlowChannel()
    buffer = await started_buffer()
    try:
        for n in range(4):
            buffer.put(buffered(channel, n))
        await asyncio.wait_for(buffer.flush(), timeout=10)
        assert channel.handed_over == [0, 1, 2, 3]
    finally:
        await stop_when_empty(buffer, channel, 4)


async def test_messages_put_after_the_flush_began_do_not_hold_it() -> None:
    channel = SlowChannel()
    buffer = await started_buffer()
    try:
        buffer.put(buffered(channel, 0))
        flushing = asyncio.ensure_future(buffer.flush())
        await asyncio.sleep(0.05)
        for n in range(1, 20):
            buffer.put(buffered(channel, n))
        await asyncio.wait_for(flushing, timeout=2)
        assert channel.handed_over[0] == 0 and len(channel.handed_over) < 19
    finally:
        await stop_when_empty(buffer, channel, 20)


async def test_a_flush_that_cannot_finish_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(producer_flush, "FLUSH_LIMIT_S", 0.5)
    channel = SlowChannel()
    buffer = await started_buffer()
    try:
        for n in range(10):  # 3 s of hand-over
            buffer.put(buffered(channel, n))
        with pytest.raises(RuntimeError, match="not handed to Kafka"):
            await asyncio.wait_for(buffer.flush(), timeout=10)
    finally:
        await stop_when_empty(buffer, channel, 10)
