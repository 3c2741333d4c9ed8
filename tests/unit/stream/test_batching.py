"""Batches never straddle a rebalance, and their events are acked only once they were processed.

The batched invoice and day owners once lost one line's genre contribution in the two-worker kill
test: Faust's `take_events` handed over (and later acked) batches taken before a rebalance, whose
state writes then interleaved with table recovery replaying older values into the same in-memory
table. These tests pin the properties of `stream.batching.batches` that rule that out, against a
fake stream and app (no Kafka), and the Faust behaviour that made them necessary.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import textwrap
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.streams import current_event

from stream import batching, owner
from stream.app import app
from stream.batching import batches, writing_for


@dataclass
class Msg:
    partition: int
    offset: int
    generation_id: int


@dataclass
class Ev:
    key: bytes
    value: bytes
    message: Msg


class Buffer:
    """Faust's producer buffer: `flush` hands over some messages, or gives up after a while."""

    def __init__(self) -> None:
        self.size = 0
        self.flushes = 0

    async def flush(self) -> None:
        self.flushes += 1
        await asyncio.sleep(0)
        self.size = max(0, self.size - 2)  # partial progress, like a flush that timed out


@dataclass
class FakeApp:
    rebalancing: bool = False
    consumer_generation_id: int = 1
    producer: Any = field(default_factory=lambda: SimpleNamespace(buffer=Buffer()))


class FakeStream:
    """A Faust stream reduced to what `batches` uses: noack(), events(), ack()."""

    def __init__(self, app_: FakeApp) -> None:
        self.app = app_
        self.queue: asyncio.Queue[Ev | None] = asyncio.Queue()
        self.acked: list[int] = []
        self.buffer_at_ack: list[int] = []
        self.manual = False
        self.reader_closed = False

    def noack(self) -> FakeStream:
        self.manual = True
        return self

    async def events(self) -> AsyncIterator[Ev]:
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                yield item
        finally:
            self.reader_closed = True

    async def ack(self, event: Ev) -> bool:
        self.acked.append(event.message.offset)
        self.buffer_at_ack.append(self.app.producer.buffer.size)
        return True

    def put(self, *offsets: int, generation: int = 1, partition: int = 0) -> None:
        for offset in offsets:
            self.queue.put_nowait(Ev(b"k%d" % offset, b"{}", Msg(partition, offset, generation)))


def offsets(events: list[Ev]) -> list[int]:
    return [e.message.offset for e in events]


@pytest.fixture
def fake() -> FakeApp:
    return FakeApp()


async def test_events_are_acked_only_after_the_consumer_finished_their_batch(fake: FakeApp) -> None:
    stream = FakeStream(fake)
    stream.put(1, 2, 3)
    async with aclosing(batches(stream, size=10, within=0.01, app_=fake)) as taken:
        first = await anext(taken)
        assert offsets(first) == [1, 2, 3]
        assert stream.acked == []  # not when taken, not when handed over
        stream.put(4)
        second = await anext(taken)  # asking for the next batch is what acks the previous one
        assert stream.acked == [1, 2, 3]
        assert offsets(second) == [4]
    assert stream.manual, "Faust must not ack by itself: the stream is read with noack()"


async def test_a_batch_whose_processing_raised_is_not_acked(fake: FakeApp) -> None:
    stream = FakeStream(fake)
    stream.put(1, 2)
    with pytest.raises(RuntimeError):
        async with aclosing(batches(stream, size=10, within=0.01, app_=fake)) as taken:
            async for _events in taken:
                raise RuntimeError("processing failed")
    assert stream.acked == []  # Faust's take_events acks the whole batch here (its finally)
    assert stream.reader_closed, "the read of the next event must not outlive the batches"


async def test_events_fetched_before_a_rebalance_are_dropped_unacked(fake: FakeApp) -> None:
    stream = FakeStream(fake)
    stream.put(10, 11, generation=1)
    fake.consumer_generation_id = 2  # a rebalance completed after they were fetched
    stream.put(10, 11, 12, generation=2)  # read again from the committed offset
    async with aclosing(batches(stream, size=10, within=0.01, app_=fake)) as taken:
        batch = await anext(taken)
        assert offsets(batch) == [10, 11, 12]
        assert all(e.message.generation_id == 2 for e in batch)
        stream.put(13, generation=2)
        await anext(taken)
    assert stream.acked == [10, 11, 12]


async def test_nothing_is_handed_over_while_a_rebalance_is_under_way(fake: FakeApp) -> None:
    stream = FakeStream(fake)
    stream.put(20, 21)
    fake.rebalancing = True  # revoke started after they were taken, before the batch was handed over

    async def rebalance_completes() -> None:
        await asyncio.sleep(0.05)
        fake.rebalancing = False
        fake.consumer_generation_id = 2
        stream.put(20, 21, generation=2)

    async with aclosing(batches(stream, size=10, within=0.01, app_=fake)) as taken:
        done = asyncio.ensure_future(rebalance_completes())
        batch = await asyncio.wait_for(anext(taken), timeout=5)
        await done
        assert [(e.message.offset, e.message.generation_id) for e in batch] == [(20, 2), (21, 2)]
    assert stream.acked == []


async def test_events_of_the_new_generation_taken_while_its_rebalance_ends_are_dropped_unacked(
    fake: FakeApp,
) -> None:
    """Faust seeks to the committed offsets and resumes the flow before it ends the rebalance; the
    events read in between are dropped unacked, and the commit guard's seek after the end reads
    them again (stream/repairs/commit_guard.py)."""
    fake.consumer_generation_id = 2
    fake.rebalancing = True  # the assignment of generation 2 is ending
    stream = FakeStream(fake)
    stream.put(30, 31, generation=2)
    async with aclosing(batches(stream, size=10, within=0.01, app_=fake)) as taken:
        reading = asyncio.ensure_future(anext(taken))
        await asyncio.sleep(0.05)
        assert not reading.done(), "nothing is handed over while the rebalance is under way"
        fake.rebalancing = False
        await asyncio.sleep(0.05)
        assert not reading.done(), "they were dropped, not kept for after the rebalance"
        stream.put(30, 31, generation=2)  # read again after the guard's seek
        batch = await asyncio.wait_for(reading, timeout=5)
        assert offsets(batch) == [30, 31]
        stream.put(32, generation=2)
        await asyncio.wait_for(anext(taken), timeout=5)
    assert stream.acked == [30, 31]


async def test_events_taken_before_the_guards_second_seek_are_dropped_unacked(
    fake: FakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit guard seeks every partition again once the flow resumed; what the agent takes
    before that seek is read again after it, so processing it first would do it twice."""
    from stream.repairs import commit_guard

    monkeypatch.setattr(commit_guard, "_second_seek_pending", True)
    stream = FakeStream(fake)
    stream.put(50, 51)
    async with aclosing(batches(stream, size=10, within=0.01, app_=fake)) as taken:
        reading = asyncio.ensure_future(anext(taken))
        await asyncio.sleep(0.05)
        assert not reading.done()
        monkeypatch.setattr(commit_guard, "_second_seek_pending", False)  # sought: read again
        stream.put(50, 51)
        batch = await asyncio.wait_for(reading, timeout=5)
        assert offsets(batch) == [50, 51]
        stream.put(52)
        await asyncio.wait_for(anext(taken), timeout=5)
    assert stream.acked == [50, 51]


async def test_events_still_waiting_when_another_generation_begins_are_dropped(fake: FakeApp) -> None:
    stream = FakeStream(fake)
    fake.rebalancing = True
    stream.put(40, generation=1)

    async def another_rebalance() -> None:
        await asyncio.sleep(0.05)
        fake.consumer_generation_id = 2  # a new assignment: its seek reads them again
        fake.rebalancing = False
        stream.put(40, generation=2)

    async with aclosing(batches(stream, size=10, within=0.01, app_=fake)) as taken:
        done = asyncio.ensure_future(another_rebalance())
        batch = await asyncio.wait_for(anext(taken), timeout=5)
        await done
        assert [(e.message.offset, e.message.generation_id) for e in batch] == [(40, 2)]


async def test_acks_wait_until_the_batch_table_writes_left_the_producer_buffer(fake: FakeApp) -> None:
    stream = FakeStream(fake)
    stream.put(1, 2, 3)
    async with aclosing(batches(stream, size=3, within=0.01, app_=fake)) as taken:
        await anext(taken)
        fake.producer.buffer.size = 5  # the batch's state writes, queued by Table.__setitem__
        stream.put(4)
        await anext(taken)
    assert stream.acked == [1, 2, 3]
    assert stream.buffer_at_ack == [0, 0, 0]
    assert fake.producer.buffer.flushes >= 3  # one flush giving up early is not enough


async def test_batches_respect_their_size_and_window(fake: FakeApp) -> None:
    stream = FakeStream(fake)
    stream.put(*range(25))
    async with aclosing(batches(stream, size=10, within=0.5, app_=fake)) as taken:
        sizes = [len(await anext(taken)) for _ in range(2)]
        assert sizes == [10, 10]
        assert len(await anext(taken)) == 5  # the window ends a partial batch
        stream.put(30)
        loop = asyncio.get_running_loop()
        started = loop.time()
        lone = asyncio.ensure_future(anext(taken))
        await asyncio.sleep(0.1)
        stream.put(31)  # within the first event's window of 0.5 s: the same batch
        assert offsets(await lone) == [30, 31]
        assert loop.time() - started >= 0.4


def test_state_is_read_and_written_synchronously_right_after_the_hand_over() -> None:
    """The batch check in `batches` holds only until the consumer's first await: the owner applies
    the batch (`owned.ensure`, `take_batch`, both synchronous) before it awaits anything."""
    assert not inspect.iscoroutinefunction(owner.take_batch)
    assert not inspect.iscoroutinefunction(owner.Owned.ensure)
    tree = ast.parse(textwrap.dedent(inspect.getsource(owner.own.fun)))
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFor)]
    assert len(loops) == 1
    first, second = loops[0].body[:2]
    calls = [n.value for n in (first, second) if isinstance(n, ast.Assign)]
    assert len(calls) == 2 and all(isinstance(c, ast.Call) for c in calls), ast.dump(first)
    assert [ast.unparse(c.func) for c in calls if isinstance(c, ast.Call)] == ["owned.ensure", "take_batch"]


def test_writing_for_makes_the_event_faust_s_current_one_for_the_store() -> None:
    """The rocksdb store files a write under the partition of Faust's current event."""
    event = Ev(b"k", b"{}", Msg(2, 7, 1))
    assert current_event() is None
    with writing_for(event):
        assert current_event() is event
    assert current_event() is None


def probe_app(tmp_path: Path, name: str) -> faust.App:
    """A Faust app of its own (never connected) whose in-memory channels feed real Faust streams."""
    probe = faust.App(name, broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    probe.flow_control.resume()
    return probe


async def test_faust_take_events_hands_over_and_acks_a_batch_taken_before_a_rebalance(tmp_path: Path) -> None:
    """What the reverted commit relied on: the batch is handed over after the revoke began, and it is
    acked when the consumer closes it, processed or not."""
    probe = probe_app(tmp_path, "unit-take-events")
    channel = probe.channel()
    taken = probe.stream(channel).take_events(10, within=0.3)
    first = asyncio.ensure_future(anext(taken))
    await asyncio.sleep(0.05)
    for i in range(3):
        await channel.send(value=i)
    await asyncio.sleep(0.05)  # in the take buffer, not handed over yet
    probe.rebalancing = True  # the revoke begins: Faust suspends the flow...
    probe.flow_control.suspend()
    batch = await asyncio.wait_for(first, 5)  # ...and still hands the batch over
    assert [e.value for e in batch] == [0, 1, 2]
    await taken.aclose()  # the consumer raised or stopped before processing it
    assert all(e.message.acked for e in batch)


async def test_with_a_real_faust_stream_only_batches_acks_and_only_what_it_handed_over(tmp_path: Path) -> None:
    probe = probe_app(tmp_path, "unit-batches")
    channel = probe.channel()
    fake = FakeApp(consumer_generation_id=probe.consumer_generation_id)
    taken = batches(probe.stream(channel), size=10, within=0.05, app_=fake)
    first = asyncio.ensure_future(anext(taken))
    await asyncio.sleep(0.05)
    for i in range(3):
        await channel.send(value=i)
    batch = await asyncio.wait_for(first, 5)
    assert [e.value for e in batch] == [0, 1, 2]
    assert not any(e.message.acked for e in batch)  # Faust does not ack: the stream is read with noack()
    second = asyncio.ensure_future(anext(taken))
    await asyncio.sleep(0.05)
    assert all(e.message.acked for e in batch)  # asking for the next batch acked this one
    fake.rebalancing = True
    for i in range(3, 5):
        await channel.send(value=i)
    await asyncio.sleep(0.2)
    assert not second.done()  # taken during the rebalance: dropped, not handed over
    second.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await second
    await taken.aclose()


async def test_without_a_window_a_batch_is_what_is_queued_and_nothing_waits_for_more(tmp_path: Path) -> None:
    """The worker's setting (`BATCH_WINDOW_S` 0): a read's events, queued at once by Faust's fetch
    loop, make one batch; the batch is handed over without waiting for the next read."""
    assert batching.BATCH_WINDOW_S == 0
    probe = probe_app(tmp_path, "unit-batches-no-window")
    channel = probe.channel()
    fake = FakeApp(consumer_generation_id=probe.consumer_generation_id)
    fake.flow_control = probe.flow_control  # type: ignore[attr-defined]  # the check that the flow runs
    taken = batches(probe.stream(channel), size=10, within=0, app_=fake)
    for i in range(3):
        await channel.send(value=i)
    first = await asyncio.wait_for(anext(taken), 5)
    assert [e.value for e in first] == [0, 1, 2]
    second = asyncio.ensure_future(anext(taken))
    await asyncio.sleep(0.05)
    assert not second.done()  # nothing queued: it waits for the next event, unbounded
    await channel.send(value=3)
    await channel.send(value=4)
    batch = await asyncio.wait_for(second, 5)
    assert batch[0].value == 3  # the next read starts a new batch
    await taken.aclose()


class StuckBuffer(Buffer):
    async def flush(self) -> None:
        self.flushes += 1
        await asyncio.sleep(0.01)  # the broker does not answer: nothing leaves the buffer


async def test_a_revoke_delivers_every_table_write_before_the_worker_rejoins(
    fake: FakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recovery reads up to the high-water mark it finds after the rejoin: our writes must lie below it."""
    assert batching._deliver_writes_before_recovery in list(app.on_partitions_revoked.iter_receivers(app))
    flushed: list[int] = []

    async def producer_flush() -> None:
        flushed.append(fake.producer.buffer.size)

    fake.producer.flush = producer_flush
    fake.producer.buffer.size = 7
    await batching._deliver_writes_before_recovery(fake, set())
    assert flushed == [0]  # Faust's buffer emptied first, then the client flushed (delivered)

    monkeypatch.setattr(batching, "REVOKE_FLUSH_TIMEOUT_S", 0.05)
    fake.producer.buffer = StuckBuffer()
    fake.producer.buffer.size = 1
    with pytest.raises(TimeoutError):  # Faust's revoke handler crashes the worker on it
        await batching._deliver_writes_before_recovery(fake, set())
