"""Offsets are committed only over events processed in the current assignment, from its base."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.consumer import Consumer, ThreadDelegateConsumer
from faust.types import TP
from faust.types.tuples import ConsumerMessage
from intervaltree import IntervalTree
from mode.utils.queues import FlowControlEvent

from stream.repairs import commit_guard, rebalance_window

commit_guard.install()

TP0 = TP("pulse.day-contributions", 0)


def consumer(committed: int | None, generation: int = 7) -> Any:
    """The consumer state `_new_offset` and `ack` work on, with Faust's own containers."""
    return SimpleNamespace(
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None, {TP0: committed}),
        _unacked_messages=set(),
        _read_offset=commit_guard.ReadOffsets(),
        _waiting_for_ack=None,
        _n_acked=0,
        app=SimpleNamespace(
            consumer_generation_id=generation,
            topics=SimpleNamespace(acks_enabled_for=lambda t: True),
            flow_control=FlowControlEvent(initially_suspended=False),
        ),
    )


def acked(state: Any, *offsets: int) -> None:
    state._acked[TP0].extend(offsets)
    state._acked_index[TP0].update(offsets)


def message(offset: int, generation: int = 7) -> ConsumerMessage:
    topic, partition = TP0
    return ConsumerMessage(topic, partition, offset, 0.0, 0, None, b"k", b"v", None, tp=TP0, generation_id=generation)


def test_committable_end_is_one_past_the_run_from_the_base() -> None:
    assert commit_guard.committable_end(0, [0, 1, 2, 5]) == 3
    assert commit_guard.committable_end(40, [38, 39, 40, 41]) == 42  # reprocessed offsets below the base
    assert commit_guard.committable_end(40, [41, 42]) is None  # the base itself is missing
    assert commit_guard.committable_end(0, []) is None


def test_a_fresh_partition_is_not_committed_past_a_hole_at_its_head() -> None:
    # Faust's own rule commits 42 here: nothing is committed yet, so it trusts the first run it finds.
    state = consumer(committed=0)
    acked(state, 40, 41)
    assert Consumer._new_offset(state, TP0) is None
    acked(state, *range(0, 40))
    assert Consumer._new_offset(state, TP0) == 42


def test_a_run_is_kept_until_a_commit_moves_the_base_past_it() -> None:
    state = consumer(committed=0)
    acked(state, 0, 1, 2)
    assert Consumer._new_offset(state, TP0) == 3
    # the commit was discarded (the partition was being revoked): Faust did not move the base
    acked(state, 3)
    assert Consumer._new_offset(state, TP0) == 4
    state._committed_offset[TP0] = 4  # committed
    acked(state, 5)
    assert Consumer._new_offset(state, TP0) is None
    assert state._acked[TP0] == [5] and state._acked_index[TP0] == {5}


def test_one_past_the_committed_offset_is_a_hole_too() -> None:
    # Faust allows min(acked) - committed == 1, which skips the committed offset's own event.
    state = consumer(committed=10)
    acked(state, 11, 12)
    assert Consumer._new_offset(state, TP0) is None
    acked(state, 10)
    assert Consumer._new_offset(state, TP0) == 13


def test_nothing_is_committed_before_the_assignment_base_is_known() -> None:
    state = consumer(committed=None)
    acked(state, 0, 1, 2)
    assert Consumer._new_offset(state, TP0) is None


def test_offsets_skipped_between_two_reads_are_not_counted_as_processed() -> None:
    # After a seek back Faust's read offset is stale, and its "gap" would cover unprocessed events.
    state = consumer(committed=5)
    asyncio.run(Consumer._add_gap(state, TP0, 7, 8))
    assert not state._gap[TP0]
    acked(state, 5, 6, 9)
    assert Consumer._new_offset(state, TP0) == 7


def test_a_rewound_read_offset_stays_pinned_until_the_base_is_read_again() -> None:
    offsets = commit_guard.ReadOffsets()
    offsets[TP0] = 50
    offsets.rewind(TP0, 26)
    offsets[TP0] = 51  # fetched before the seek back: Faust would now drop 26..50 when re-fetched
    assert offsets[TP0] == 26
    offsets[TP0] = 26
    offsets[TP0] = 27
    assert offsets[TP0] == 27 and not offsets.pinned
    offsets.rewind(TP0, 0)
    assert offsets[TP0] is None
    offsets.reset(TP0, 40)  # an assignment's seek wins
    assert offsets[TP0] == 40 and not offsets.pinned


def test_an_acknowledgement_from_an_older_generation_does_not_count() -> None:
    state = consumer(committed=0, generation=8)
    old = message(0, generation=7)
    state._unacked_messages.add(old)
    assert Consumer.ack(state, old) is False
    assert old.acked and old not in state._unacked_messages
    assert state._acked[TP0] == []
    current = message(0, generation=8)
    assert Consumer.ack(state, current) is True
    assert state._acked[TP0] == [0]


def test_an_acknowledgement_after_a_revoke_does_not_count() -> None:
    import weakref

    state = consumer(committed=0)
    in_flight = message(3)
    state._unacked_messages.add(in_flight)
    state.pulse_stale = weakref.WeakSet(state._unacked_messages)  # what the revoke records
    assert Consumer.ack(state, in_flight) is False
    assert state._acked[TP0] == []


def test_an_acknowledgement_while_the_flow_is_stopped_does_not_count() -> None:
    # Faust's streams acknowledge the events they skip during a rebalance, unprocessed.
    state = consumer(committed=0)
    state.app.flow_control.suspend()
    assert Consumer.ack(state, message(0)) is False
    assert state._acked[TP0] == []
    state.app.flow_control.resume()
    assert Consumer.ack(state, message(0)) is True


def test_between_a_revoke_and_the_next_assignment_nothing_counts_or_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    state = consumer(committed=0)
    acked(state, 0, 1)
    monkeypatch.setattr(rebalance_window, "_revoked_generation", 7)  # revoked, not assigned yet
    assert Consumer._new_offset(state, TP0) is None
    assert Consumer.ack(state, message(2)) is False
    monkeypatch.setattr(rebalance_window, "_revoked_generation", None)  # the next assignment came
    assert Consumer._new_offset(state, TP0) == 2


def repairable(committed: int) -> tuple[Any, list[tuple[TP, int]]]:
    """A consumer state whose seeks (what a hole's repair does) are recorded."""
    seeks: list[tuple[TP, int]] = []

    async def seek(tp: TP, offset: int) -> None:
        seeks.append((tp, offset))

    state = consumer(committed)
    state._seek, state.flow_active, state.app.rebalancing = seek, True, False
    return state, seeks


async def test_a_lasting_hole_is_read_again_from_the_base(monkeypatch: pytest.MonkeyPatch) -> None:
    # Faust clears its queues when a rebalance ends and drops re-fetched events below its read offset.
    monkeypatch.setattr(commit_guard, "HOLE_REPAIR_AFTER_S", 0.0)
    state, seeks = repairable(committed=26)
    state._read_offset[TP0] = 44
    acked(state, *range(39, 45))
    repaired = commit_guard.holes_reread
    assert Consumer._new_offset(state, TP0) is None  # first seen
    assert Consumer._new_offset(state, TP0) is None  # outlived the limit: read again
    await asyncio.sleep(0)
    assert seeks == [(TP0, 26)] and commit_guard.holes_reread == repaired + 1
    assert state._read_offset[TP0] == 26 and state._read_offset.pinned == {TP0: 26}
    Consumer._new_offset(state, TP0)  # not read again yet, but within REREAD_WITHIN_S
    state._read_offset[TP0] = 26  # read again: now it waits in the queue
    monkeypatch.setattr(commit_guard, "REREAD_WITHIN_S", 0.0)
    Consumer._new_offset(state, TP0)  # within PROCESS_WITHIN_S: no second seek
    await asyncio.sleep(0)
    assert seeks == [(TP0, 26)]
    monkeypatch.setattr(commit_guard, "PROCESS_WITHIN_S", 0.0)
    Consumer._new_offset(state, TP0)  # never processed: read again
    await asyncio.sleep(0)
    assert seeks == [(TP0, 26), (TP0, 26)]


async def test_a_hole_whose_event_is_being_processed_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit_guard, "HOLE_REPAIR_AFTER_S", 0.0)
    state, seeks = repairable(committed=26)
    state._unacked_messages.add(message(26))
    acked(state, 27)
    Consumer._new_offset(state, TP0)
    Consumer._new_offset(state, TP0)
    await asyncio.sleep(0)
    assert seeks == []


def completed_recovery(state: Any, generation: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[int]]:
    """A recovery of `state`'s consumer whose Faust part (seek, resume the flow, end the rebalance) is recorded."""
    faust_completions: list[int] = []

    async def faust_completion(self: Any, generation_id: int = 0) -> None:
        faust_completions.append(generation_id)

    monkeypatch.setattr(commit_guard, "_previous_on_recovery_completed", faust_completion)
    monkeypatch.setattr(rebalance_window, "_revoked_generation", None)
    return SimpleNamespace(app=SimpleNamespace(consumer=state, consumer_generation_id=generation)), faust_completions


class SeekingThread:
    """The consumer's thread: seeks run in it (`call_thread`), recorded."""

    def __init__(self, seeks: list[tuple[TP, int]]) -> None:
        self.seeks = seeks

    def seek(self, tp: TP, offset: int) -> None:
        assert commit_guard.second_seek_pending(), "the agents drop what they take until the seek is done"
        self.seeks.append((tp, offset))

    async def call_thread(self, fun: Any, *args: Any) -> Any:
        return fun(*args)


async def test_after_the_flow_resumes_each_stream_partition_is_read_again_from_its_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Faust seeks, then resumes the flow, which clears the agents' queues: what was fetched in
    # between was read past and thrown away, and nothing later may come to show the hole.
    state, seeks = repairable(committed=26)
    state._thread = SeekingThread(seeks)
    state.pulse_streams, state.pulse_seek_generation = {TP0}, 7
    state._read_offset[TP0] = 44  # fetched up to 44 after the seek; then the queue was cleared
    recovery, completions = completed_recovery(state, 7, monkeypatch)
    monkeypatch.setattr(commit_guard, "_second_seek_pending", True)  # set by the assignment's seek
    await commit_guard._on_recovery_completed(recovery, 7)
    assert completions == [7]
    assert seeks == [(TP0, 26)]
    assert not commit_guard.second_seek_pending()
    assert state._read_offset[TP0] == 26 and state._read_offset.pinned == {TP0: 26}


async def test_a_recovery_of_another_generation_does_not_seek_again(monkeypatch: pytest.MonkeyPatch) -> None:
    state, seeks = repairable(committed=26)
    state._thread = SeekingThread(seeks)
    state.pulse_streams, state.pulse_seek_generation = {TP0}, 7
    recovery, completions = completed_recovery(state, 8, monkeypatch)  # a newer assignment is current
    monkeypatch.setattr(commit_guard, "_second_seek_pending", True)
    await commit_guard._on_recovery_completed(recovery, 7)
    assert completions == [7] and seeks == []
    assert not commit_guard.second_seek_pending()  # left to the newer assignment's seek


async def test_a_seek_runs_in_the_consumers_thread() -> None:
    # aiokafka is not thread-safe: a seek from the main thread races the fetcher in the consumer's.
    calls: list[tuple[str, TP, int]] = []

    class Thread:
        def seek(self, tp: TP, offset: int) -> None:
            calls.append(("seek", tp, offset))

        async def call_thread(self, fun: Any, *args: Any) -> Any:
            calls.append(("in thread", *args))
            return fun(*args)

    state = SimpleNamespace(_thread=Thread())
    await ThreadDelegateConsumer._seek(state, TP0, 26)
    assert calls == [("in thread", TP0, 26), ("seek", TP0, 26)]
