"""Batched processing that never straddles a rebalance, with tables written to the right partition.

Why not Faust's `Stream.take_events`: it hands over a batch whenever the batch is full or its
window ends, even if a rebalance began after the events were taken, and it acks the whole batch
when the consumer asks for the next one *or is closed* (an exception, a stop). A batch processed
after the revoke writes table state while Faust's recovery is re-reading the changelog into the
same in-memory table: the memory store has no persisted offsets, so on every rebalance recovery
replays what this worker itself wrote since its last recovery, and a replayed older value replaces
the batch's newer one (faust/tables/recovery.py `_restart_recovery`, `_slurp_changelogs`;
faust/stores/memory.py `apply_changelog_batch`). For a partition given to another worker the batch
writes into a changelog that worker now owns. Either way an invoice's state goes back a revision
after its facts were sent, and the next change then reuses a revision the day owner already holds
(it is ignored as stale): a line's contribution goes missing while the invoice total is right.

`batches()` gives the guarantees the one-event-at-a-time agents had for free:

* A batch is handed over only if no rebalance is under way and every event was fetched in the
  current consumer generation; the events that fail the check are dropped *unacked*, so they are
  fetched again from the committed offset by whoever owns their partition after the rebalance.
* Nothing is awaited between that check and the hand-over, and the consumer does all its table
  reads and writes for the batch synchronously before its first `await` (see `stream.invoices`,
  `stream.days`): the writes therefore happen before a revoke starts, are flushed by the revoke
  and lie below the high-water mark recovery reads up to. They can never interleave with recovery.
* When a revoke begins, before the worker rejoins the group, every table write made so far is
  delivered to Kafka (`flush_before_recovery`): recovery's high-water mark then lies above all of
  them, so it replays nothing older over them. Faust flushes too, but its buffer flush gives up
  after 0.1 s without progress; if ours cannot finish, the worker crashes (a restart recovers from
  the changelog alone) rather than risk a stale replay.
* A batch is acked only after the consumer finished it (asked for the next batch) and the table
  writes it made have left Faust's producer buffer, so the commit's producer flush covers them
  (Faust's own buffer flush gives up after 0.1 s without progress). A batch whose processing
  raised, or that was interrupted, is not acked: it is redelivered, and redelivery is idempotent.

Faust writes a table change to the changelog partition of the event being processed *now*; a batch
has no such event, so `writing_for(partition)` says which partition a write belongs to and
`PartitionTable` honours it. Keys are partitioned, so all events of one key in a batch come from
one partition, the partition whose changelog a restoring worker reads for that key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust
from faust.streams import _current_event

from stream.app import app

log = logging.getLogger(__name__)

#: Events per batch, and the longest a batch waits to fill (the latency a stage may add).
BATCH_SIZE = 1000
BATCH_WINDOW_S = 0.02

_partition: ContextVar[int | None] = ContextVar("pulse_write_partition", default=None)


@contextmanager
def writing_for(partition: int, event: Any = None) -> Iterator[None]:
    """Table writes in this block belong to `partition`; with `event` (one of the batch's events of
    that partition) it is also Faust's current event, which the rocksdb store files writes by."""
    token = _partition.set(partition)
    current = None if event is None else _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        if current is not None:
            _current_event.reset(current)
        _partition.reset(token)


class PartitionTable(faust.Table):
    """A Faust table whose changelog partition can be set with `writing_for`."""

    def partition_for_key(self, key: Any) -> int | None:
        partition = _partition.get()
        if partition is not None:
            return partition
        return super().partition_for_key(key)


def bytes_table(name: str) -> Any:
    """A changelogged table of raw bytes keys and values, registered with the app."""
    return app.tables.add(PartitionTable(app, name=name, key_type=bytes, value_type=bytes, beacon=app.tables.beacon))


def current(app_: Any, event: Any) -> bool:
    """True while `event` may still be processed: no rebalance under way, and it was fetched in the
    consumer generation that is current now (Faust stamps each message when it is fetched)."""
    return not app_.rebalancing and event.message.generation_id == app_.consumer_generation_id


async def drain_producer(app_: Any) -> None:
    """Wait until Faust's producer buffer (where table writes wait) has handed everything to the client."""
    buffer = app_.producer.buffer
    while buffer.size:
        await buffer.flush()


#: How long a revoke may wait for the table writes made before it to reach Kafka.
REVOKE_FLUSH_TIMEOUT_S = 30.0


async def flush_before_recovery(app_: Any) -> None:
    """Deliver every table write made so far to Kafka."""
    await drain_producer(app_)
    await app_.producer.flush()


@app.on_partitions_revoked.connect
async def _deliver_writes_before_recovery(app_: Any, revoked: Any, **kwargs: Any) -> None:
    # a TimeoutError here crashes the worker (Faust's revoke handler), which is what we want
    async with asyncio.timeout(REVOKE_FLUSH_TIMEOUT_S):
        await flush_before_recovery(app_)


async def batches(
    stream: Any, *, size: int = BATCH_SIZE, within: float = BATCH_WINDOW_S, app_: Any = None
) -> AsyncGenerator[list[Any], None]:
    """Yield lists of at most `size` events (the first waits for at most `within` seconds for more).

    The consumer must read and write tables for a batch synchronously, before its first `await`.
    A batch's events are acked when the consumer asks for the next batch; never otherwise.
    """
    a = app if app_ is None else app_
    manual = stream.noack()
    events = manual.events().__aiter__()
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[Any] | None = None  # the next event, being read (it outlives a batch)
    try:
        while True:
            taken: list[Any] = []
            deadline = 0.0
            while len(taken) < size:
                if pending is None:
                    pending = asyncio.ensure_future(events.__anext__())
                if not pending.done():
                    timeout = None if not taken else deadline - loop.time()
                    if timeout is not None and timeout <= 0:
                        break
                    await asyncio.wait((pending,), timeout=timeout)
                    if not pending.done():
                        break
                done, pending = pending, None
                try:
                    event = done.result()
                except StopAsyncIteration:
                    return
                taken.append(event)
                if len(taken) == 1:
                    deadline = loop.time() + within
            # From here to the consumer's writes nothing is awaited: the check cannot go stale.
            fresh = [event for event in taken if current(a, event)]
            if len(fresh) < len(taken):
                dropped = len(taken) - len(fresh)
                log.info("dropped %d events taken before a rebalance (not acked: they are read again)", dropped)
            if not fresh:
                continue
            yield fresh
            await drain_producer(a)
            for event in fresh:
                if current(a, event):  # one a rebalance overtook is read again by its partition's owner
                    await manual.ack(event)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        with contextlib.suppress(BaseException):
            await events.aclose()
