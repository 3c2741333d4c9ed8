"""A watchdog for stream partitions that stop being read while they still have events to read.

The other repairs (`stream.repairs`) each
close a path, read in Faust's code, by which a partition stops being consumed. A CI run still
showed one more: after the start-up rebalance of two workers, one partition of
`day-contributions` was committed at 21 of 323 and stayed there for ten minutes, with no hole at
its head (nothing acknowledged past the commit), no warning and no error. Neither the commit guard
(it needs an acknowledged offset past the hole) nor anything in Faust notices a partition that is
simply not read any more.

This guard notices it from the outside, whatever the cause: every `CHECK_EVERY_S` it compares each
assigned stream partition's committed offset and last-read offset with its end offset. A partition
with events left whose committed and read offsets have not moved for `STALL_AFTER_S` while the
flow is running, and with nothing acknowledged past its commit (a hole is the commit guard's),
is stalled, provided Faust has asked the fetcher for records at least `STALL_AFTER_ROUNDS` times
meanwhile (`stream.repairs.fetch_rounds`). The rounds matter: a worker catching up a long history hands
on one big fetch for many seconds, and a partition that fetch did not include waits for the
next one without being stalled (seen on the dev stack: 20 s with a fetch for the partition
waiting in aiokafka).

The guard then logs Faust's and aiokafka's view of the partition and where every task waits (so
that the cause can be found), makes it fetchable again (active, not paused, not buffered) and
reads it again from its committed offset. Reprocessing is idempotent (absolute, versioned
state), so a false alarm costs only the rework. Repeated stalls of one partition back off up to
`STALL_MAX_S`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from faust.types import TP

from stream.app import app
from stream.repairs import fetch_rounds
from stream.repairs.rebalance_window import revoke_pending

log = logging.getLogger(__name__)

#: How often partitions are checked, and how long one may go without progress while behind.
CHECK_EVERY_S = 5.0
STALL_AFTER_S = 20.0
STALL_MAX_S = 160.0
#: Fetch rounds Faust must have started while a partition stood still before it counts as stalled.
STALL_AFTER_ROUNDS = 3

#: Stalled partitions read again since the worker started (`/pulse/status/`).
stalls_reread = 0


@dataclass
class Progress:
    """What a partition looked like when it last moved, and how long it may now stand still."""

    committed: int
    read: int | None
    since: float
    rounds: int
    allowed: float = STALL_AFTER_S


class StallWatch:
    """Decides, from periodic observations, which partitions are stalled."""

    def __init__(
        self, after_s: float = STALL_AFTER_S, max_s: float = STALL_MAX_S, after_rounds: int = STALL_AFTER_ROUNDS
    ) -> None:
        self.after_s = after_s
        self.max_s = max_s
        self.after_rounds = after_rounds
        self.seen: dict[TP, Progress] = {}

    def forget(self) -> None:
        """A rebalance: every partition starts over from its new assignment."""
        self.seen.clear()

    def observe(
        self, tp: TP, committed: int | None, read: int | None, end: int, acked: bool, now: float, rounds: int
    ) -> bool:
        """True if `tp` is stalled: behind its end, unmoved for the allowed time and fetch rounds,
        and with no acknowledged hole. `rounds` counts the fetch rounds Faust has started so far."""
        if committed is None or end <= committed or acked:
            self.seen.pop(tp, None)  # caught up, not started, or the commit guard's to repair
            return False
        seen = self.seen.get(tp)
        if seen is None or seen.committed != committed:  # a commit: progress, and any back-off ends
            self.seen[tp] = Progress(committed, read, now, rounds)
            return False
        if seen.read != read:  # events are being read: the clock starts again, the back-off stays
            seen.read, seen.since, seen.rounds = read, now, rounds
            return False
        if now - seen.since < seen.allowed or rounds - seen.rounds < self.after_rounds:
            return False
        seen.since, seen.rounds = now, rounds
        seen.allowed = min(seen.allowed * 2, self.max_s)
        return True


watch = StallWatch()


def describe(consumer: Any, tp: TP, end: int) -> str:
    """Faust's and aiokafka's state of one partition, for the log."""
    unacked = sorted(m.offset for m in list(consumer._unacked_messages) if m.tp == tp)
    parts = [
        f"committed={consumer._committed_offset.get(tp)}",
        f"read={consumer._read_offset.get(tp)}",
        f"end={end}",
        f"active={tp in (consumer._active_partitions or ())}",
        f"paused={tp in consumer._paused_partitions}",
        f"buffered={tp in consumer._buffered_partitions}",
        f"unacked={len(unacked)}" + (f"[{unacked[0]}..{unacked[-1]}]" if unacked else ""),
        f"generation={app.consumer_generation_id}",
    ]
    try:
        client = consumer._thread._ensure_consumer()
        state = client._subscription.subscription.assignment.state_value(tp)
        position = state._position if state is not None else None
        fetched = client._fetcher._records.get(tp)
        parts += [
            f"kafka_assigned={state is not None}",
            f"kafka_paused={state is not None and state.paused}",
            f"kafka_position={position}",
            f"kafka_buffered={type(fetched).__name__ if fetched is not None else None}",
        ]
    except Exception as exc:  # diagnostics only: never let them stop the repair
        parts.append(f"kafka_state_error={exc!r}")
    for channel in list(app.topics._topics):
        if tp.topic in channel.topics:
            queue = channel.queue
            pending = len(queue._pending_pressure_drop_callbacks)
            parts.append(f"queue={queue.qsize()}/{queue.maxsize} drop_callbacks={pending}")
    return " ".join(parts)


def worker_state(consumer: Any, ends: Mapping[TP, int]) -> str:
    """Every stream partition's committed/read/end offsets, then where each task waits (rare: a stall)."""
    from stream.status import task_stacks  # the status page imports this module

    offsets = [
        f"{tp.topic.rsplit('.', 1)[-1]}[{tp.partition}] "
        f"{consumer._committed_offset.get(tp)}/{consumer._read_offset.get(tp)}/{ends.get(tp)}"
        for tp in sorted(ends)
    ]
    return "committed/read/end: " + ", ".join(offsets) + "\n" + task_stacks()


async def reread(consumer: Any, tp: TP, committed: int) -> None:
    """Make `tp` fetchable again and read it from `committed`."""
    consumer._paused_partitions.discard(tp)
    consumer._buffered_partitions.discard(tp)
    consumer._get_active_partitions().add(tp)
    consumer._read_offset.rewind(tp, committed)
    await consumer._seek(tp, committed)


def running(app_: Any) -> bool:
    """True while partitions are being consumed: no rebalance, no revoke waiting, flow running."""
    consumer = app_.consumer
    return not (app_.rebalancing or revoke_pending() or not consumer.flow_active or not app_.flow_control.is_active())


@app.timer(interval=CHECK_EVERY_S)
async def check_stream_partitions() -> None:
    global stalls_reread
    consumer = app.consumer
    if not running(app):
        watch.forget()
        return
    streams = [tp for tp in consumer.assignment() if not consumer._is_changelog_tp(tp)]
    if not streams:
        return
    ends = await consumer.highwaters(*streams)
    if not running(app):
        watch.forget()
        return
    now = time.monotonic()
    dumped = False  # the whole worker's state once per check, however many partitions stalled
    for tp in streams:
        end = ends.get(tp)
        committed = consumer._committed_offset.get(tp)
        if end is None:
            continue
        acked = bool(consumer._acked.get(tp))
        if not watch.observe(tp, committed, consumer._read_offset.get(tp), end, acked, now, fetch_rounds.started):
            continue
        stalls_reread += 1
        state = describe(consumer, tp, end)
        log.warning("stall guard: %s stopped being read (%s); reading from %d again", tp, state, committed)
        if not dumped:
            log.warning("stall guard: the worker at that moment:\n%s", worker_state(consumer, ends))
            dumped = True
        try:
            await asyncio.wait_for(reread(consumer, tp, committed), timeout=30)
        except Exception as exc:
            log.error("stall guard: could not read %s again: %r", tp, exc)
