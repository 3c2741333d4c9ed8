"""Faust's offset commits, made to never pass an event that was not processed in this assignment.

Faust commits, per partition, the end of the first run of consecutive acknowledged offsets
(`Consumer._new_offset`). It checks that the run starts where the last commit ended only when
that commit is known and not 0 (`if committed_offset:`), and even then lets a run start one past
it. A fresh group has nothing committed, so the check is off exactly when two workers start
together and rebalance several times. Add acknowledgements that arrive after a revoke (the worker
does not wait for in-flight events, `stream_wait_empty=False`; Faust has already dropped the
partition's acknowledgements, so a late one starts a new list) and a worker commits offset 41 of a
partition whose events 0..39 it never processed in the new assignment. If the partition moves
again before they are processed, the next owner starts at 41 and those events are lost for good.

`install()` changes `faust.transport.consumer.Consumer`:

- `perform_seek` (run after every assignment, before processing resumes) records each stream
  partition's *base*: the committed offset, or the partition's first offset when nothing was
  committed (Faust leaves it unknown), and seeks there explicitly (aiokafka's `seek_to_committed`
  skips offsets of 0 and None);
- `ack` ignores the acknowledgement of an event taken before the latest revoke or fetched in an
  older generation, and of any event acknowledged while the flow is stopped (Faust's streams
  acknowledge the events they skip during a rebalance, unprocessed): a later owner, or this one
  after the rebalance, reprocesses them (at least once; the state is idempotent);
- `_new_offset` commits only a run of acknowledged offsets that starts at the base, and keeps the
  run until a commit has moved the base past it (Faust forgets it as soon as it tries). A hole at
  the head holds the commit: a stall shows as lag, a skipped event would be silent loss;
- a hole that lasts is read again from the base (`_repair_hole`): Faust drops fetched events when
  a rebalance ends (its queues are cleared) and drops re-fetched events below the offset it last
  read (`ReadOffsets` pins that offset after the seek back);
- `_add_gap` counts nothing: Faust would count offsets it skipped between two reads as processed,
  which after a seek back are unprocessed events. Every topic the worker reads has contiguous
  offsets (no compaction, no transactional producers); a real gap would hold the commit (lag);
- `Recovery.on_recovery_completed` seeks every stream partition to its base once more *after*
  Faust resumed the flow. Faust seeks (aiokafka's `seek_to_committed`, one partition at a time)
  and then resumes the flow, which clears the agents' queues: events fetched in between were
  read past and then thrown away, and no later event of the partition may come to show the
  hole (a worker taking over a dead one's partitions lost their whole tail that way). Until that
  second seek, `second_seek_pending()` tells the agents to drop what they take (it is read
  again), so a backlog is not processed twice;
- `ThreadDelegateConsumer._seek` runs aiokafka's seek in the consumer's thread: Faust calls it
  from the main thread, where it races the fetcher (`KeyError` in `fetched_records`, which
  stops the worker's fetching for good).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer, ThreadDelegateConsumer
from faust.types import TP

from stream.repairs.rebalance_window import revoke_pending

log = logging.getLogger(__name__)

#: How long a hole at a partition's head may last before the partition is read again from its base.
HOLE_REPAIR_AFTER_S = 2.0
#: After a repair's seek: how long the base may take to be read again, then to be processed.
REREAD_WITHIN_S = 10.0
PROCESS_WITHIN_S = 120.0

#: Seeks back made to repair holes since the worker started (`/pulse/status/`).
holes_reread = 0

_original_init = Consumer.__init__
_original_ack = Consumer.ack
_original_on_partitions_revoked = Consumer.on_partitions_revoked


def committable_end(base: int, acked: Iterable[int]) -> int | None:
    """The offset to commit: one past the consecutive acknowledged run that starts at `base`.

    None when `base` itself is not acknowledged (nothing can be committed yet). Offsets below
    `base` (events reprocessed after a seek back) do not count.
    """
    offsets = {offset for offset in acked if offset >= base}
    if base not in offsets:
        return None
    end = base
    while end in offsets:
        end += 1
    return end


def _new_offset(self: Any, tp: TP) -> int | None:
    acked: list[int] = self._acked[tp]
    if not acked or revoke_pending():  # between a revoke and the next assignment nothing is ours to commit
        return None
    base: int | None = self._committed_offset[tp]
    if base is None:  # the assignment's start is not known yet: nothing can be proven processed
        return None
    # Keep the run until a commit has moved the base past it: a commit that fails or is discarded
    # (the partition was being revoked) must be retried, not forgotten.
    kept = sorted({offset for offset in acked if offset >= base})
    if len(kept) != len(acked):
        acked[:] = kept
        self._acked_index[tp] = set(kept)
    end = committable_end(base, kept)
    if end is None and kept:
        _repair_hole(self, tp, base, kept[0])
    return end


def _repair_hole(self: Any, tp: TP, base: int, head: int) -> None:
    """Read `tp` again from `base` once a hole at its head has outlived `HOLE_REPAIR_AFTER_S`.

    Events of one partition are processed in order, so an acknowledged offset above an
    unacknowledged one that is not being processed means the latter was fetched and then dropped:
    Faust clears its queues when a rebalance ends, and drops re-fetched events below the offset
    it last read. Without a seek they would never come again. Once the base has been read again
    it waits in the agent's queue behind what was fetched before: the seek is repeated only if
    the base is not read again within `REREAD_WITHIN_S`, or not processed within `PROCESS_WITHIN_S`.
    """
    holes: dict[TP, tuple[int, int, float, float | None]] = getattr(self, "pulse_holes", {})
    self.pulse_holes = holes
    now = time.monotonic()
    seen = holes.get(tp)
    if seen is None or seen[:2] != (base, head):
        holes[tp] = (base, head, now, None)
        return
    since, last_seek = seen[2], seen[3]
    if self.app.rebalancing or not self.flow_active:
        return
    if last_seek is None:
        if now - since < HOLE_REPAIR_AFTER_S:
            return
        if any(m.tp == tp and m.offset < head and not _is_stale(self, m) for m in list(self._unacked_messages)):
            return  # still being processed (events left over from an ending assignment do not count)
    else:
        reread = tp not in self._read_offset.pinned
        if now - last_seek < (PROCESS_WITHIN_S if reread else REREAD_WITHIN_S):
            return
    holes[tp] = (base, head, since, now)
    global holes_reread
    holes_reread += 1
    log.warning(
        "commit guard: %s offsets %d..%d were fetched but never processed; reading from %d again",
        tp,
        base,
        head - 1,
        base,
    )
    self._read_offset.rewind(tp, base)
    task = asyncio.ensure_future(self._seek(tp, base))
    task.add_done_callback(_seek_done)


def _seek_done(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("commit guard: seek failed: %r", task.exception())


class ReadOffsets(defaultdict[TP, int | None]):
    """Faust's last-read offset per partition (`Consumer._read_offset`), which a rewind can pin.

    Faust's fetch loop drops every fetched event below the offset it last read, and sets that
    offset after each event it hands on. After a seek back, the events it had fetched before the
    seek still come through and move the offset up again, so the events read again from the seek
    target are dropped. `rewind(tp, base)` pins the offset at `base` until the event at `base` has
    been read again (the events in between are handed on twice; processing is idempotent).
    """

    def __init__(self, initial: Mapping[TP, int | None] | None = None) -> None:
        super().__init__(lambda: None, initial or {})
        self.pinned: dict[TP, int] = {}

    def rewind(self, tp: TP, base: int) -> None:
        self.pinned[tp] = base
        super().__setitem__(tp, base if base > 0 else None)

    def reset(self, tp: TP, offset: int | None) -> None:
        self.pinned.pop(tp, None)
        super().__setitem__(tp, offset)

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        base = self.pinned.get(tp)
        if base is not None:
            if offset != base:
                return  # fetched before the rewind: the offset stays pinned
            del self.pinned[tp]
        super().__setitem__(tp, offset)

    def pop(self, tp: TP, *default: Any) -> Any:
        self.pinned.pop(tp, None)
        return super().pop(tp, *default)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    self._read_offset = ReadOffsets(self._read_offset)


async def _no_gap(self: Any, tp: TP, offset_from: int, offset_to: int) -> None:
    """Faust counts offsets it did not see between two reads as processed ("gaps": compaction,
    transaction markers). After a seek back its read offset is stale and that would count
    unprocessed events; every topic the worker reads has contiguous offsets, so none are counted."""


def _is_stale(self: Any, message: Any) -> bool:
    """True for an event of an ending assignment, or one a stream skipped while the flow was stopped."""
    if revoke_pending() or not self.app.flow_control.is_active():  # streams skip (and ack) events then
        return True
    stale = getattr(self, "pulse_stale", None)
    if stale is not None and message in stale:
        return True
    return message.generation_id is not None and message.generation_id != self.app.consumer_generation_id


def _ack(self: Any, message: Any) -> bool:
    if not message.acked and _is_stale(self, message):
        message.acked = True
        self._unacked_messages.discard(message)
        waiting = self._waiting_for_ack
        if waiting is not None and not waiting.done():
            waiting.set_result(None)
        return False
    return bool(_original_ack(self, message))


async def _on_partitions_revoked(self: Any, revoked: set[TP]) -> None:
    # every event taken so far belongs to the ending assignment; their acknowledgements no longer count
    self.pulse_stale = weakref.WeakSet(self._unacked_messages)
    self.pulse_holes = {}  # the next assignment starts from its committed offsets
    await _original_on_partitions_revoked(self, revoked)


async def _perform_seek(self: Any) -> None:
    committed: Mapping[TP, int | None] = await self.seek_to_committed()
    streams = {tp for tp in committed if not self._is_changelog_tp(tp)}
    earliest: Mapping[TP, int] = await self.earliest_offsets(*streams) if streams else {}
    for tp, offset in committed.items():
        if tp not in streams:  # a changelog partition: as Faust does
            self._read_offset.reset(tp, offset if offset is not None and offset >= 0 else None)
            if offset:
                self._committed_offset[tp] = offset
    for tp in streams:
        first = earliest.get(tp) or 0
        offset = committed[tp]
        base = first if offset is None or offset < first else offset
        if offset is None or offset <= 0 or base != offset:  # aiokafka did not seek these
            await self._seek(tp, base)
        self._read_offset.reset(tp, base if base > 0 else None)
        self._committed_offset[tp] = base
    self.pulse_streams = streams
    self.pulse_seek_generation = self.app.consumer_generation_id
    global _second_seek_pending
    _second_seek_pending = True


#: From an assignment's seek until the second one after the flow resumed (or until it is given
#: up): events taken then are read again after it, so the agents drop them (stream.batching).
_second_seek_pending = False


def second_seek_pending() -> bool:
    """True while events taken now would be read again by the guard's second seek."""
    return _second_seek_pending


async def seek_to_bases_again(consumer: Any) -> None:
    """Seek every stream partition of the assignment to its base again, the read offset pinned
    there: what was fetched since the assignment's seek and then cleared from the queues is read
    again. Until this is done the agents drop what they take (`second_seek_pending`; before it,
    the rebalance under way), so nothing taken in between is processed twice."""
    bases = {tp: consumer._committed_offset[tp] for tp in sorted(consumer.pulse_streams)}
    bases = {tp: base for tp, base in bases.items() if base is not None}
    for tp, base in bases.items():
        consumer._read_offset.rewind(tp, base)
    thread = consumer._thread

    def seek_all() -> None:  # one hop to the consumer's thread
        for tp, base in bases.items():
            thread.seek(tp, base)

    try:
        await thread.call_thread(seek_all)
    except Exception as exc:  # a rebalance began: the next assignment seeks again
        log.info("commit guard: no second seek (%r)", exc)


_previous_on_recovery_completed = Recovery.on_recovery_completed


async def _on_recovery_completed(self: Any, generation_id: int = 0) -> None:
    global _second_seek_pending
    try:
        await _previous_on_recovery_completed(self, generation_id)
        consumer = self.app.consumer
        current = self.app.consumer_generation_id
        if getattr(consumer, "pulse_seek_generation", None) == generation_id == current and not revoke_pending():
            await seek_to_bases_again(consumer)
    finally:  # sought, or left to the next assignment's seek
        _second_seek_pending = False


async def _seek_in_thread(self: Any, partition: TP, offset: int) -> None:
    thread = self._thread
    await thread.call_thread(thread.seek, partition, offset)


def install() -> None:
    """Patch Faust's consumer (before the app's consumer starts)."""
    Consumer.__init__ = _init
    Consumer._add_gap = _no_gap
    Consumer._new_offset = _new_offset
    Consumer.ack = _ack
    Consumer.on_partitions_revoked = _on_partitions_revoked
    Consumer.perform_seek = _perform_seek
    ThreadDelegateConsumer._seek = _seek_in_thread
    global _previous_on_recovery_completed
    if Recovery.on_recovery_completed is not _on_recovery_completed:
        _previous_on_recovery_completed = Recovery.on_recovery_completed  # rebalance_window's, installed first
        Recovery.on_recovery_completed = _on_recovery_completed
