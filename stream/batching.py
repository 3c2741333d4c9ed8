"""Batched processing that never straddles a rebalance, and the local table the owner writes.

`batches()` hands the owner lists of events with the guarantees one-event-at-a-time agents have
(Faust's `Stream.take_events` lacks them: it hands over a batch taken before a revoke began and
acks it when closed, processed or not):

* A batch is handed over only if no rebalance is under way (nor the commit guard's second seek
  that ends it) and every event was fetched in the current consumer generation; events failing
  the check are dropped *unacked* and are read again from the committed offset by whoever owns
  their partition once the rebalance has ended (the commit guard seeks every partition there
  then, `stream/repairs/commit_guard.py`).
* Nothing is awaited between that check and the hand-over; the consumer reads and writes its state
  for the batch synchronously before its first `await`.
* A batch is acked only after the consumer finished it (asked for the next batch); one whose
  processing raised or was interrupted is not acked, and redelivery is idempotent.
* When a revoke begins, the owner's batch in progress finishes its writes (`before_revoke_flush`)
  and every write made so far is delivered to Kafka before the worker rejoins, so the changelog a
  new owner recovers from lies below the high-water mark it reads to.

Events already in the agent's queue are read without a timer; the worker waits for none that has not
arrived yet (`BATCH_WINDOW_S` 0): a batch is the first event and what is queued behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event

from stream.app import app
from stream.repairs.commit_guard import second_seek_pending

log = logging.getLogger(__name__)

#: Events per batch, and the longest a batch waits to fill (0: it takes what the agent's queue
#: holds). A batch pays two Kafka round trips (its record, then its rows), so under a backlog the
#: consumer fills the agent's queue (`stream.app.WORKER_QUEUE_EVENTS`) meanwhile; at live rates a
#: batch is what one read brought, all of it queued at once by Faust's fetch loop, so a window
#: would only add its length to every read's latency.
BATCH_SIZE = 2000
BATCH_WINDOW_S = 0.0

#: Awaited when a revoke begins, before the producer is flushed: work that must finish its writes.
before_revoke_flush: list[Callable[[], Awaitable[None]]] = []


@contextmanager
def writing_for(event: Any) -> Iterator[None]:
    """Faust's current event is `event` in this block: the rocksdb store files writes under its partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def bytes_table(name: str) -> Any:
    """A table of raw bytes keys and values with a changelog, registered with the app."""
    return app.Table(name, key_type=bytes, value_type=bytes)


def of_current_generation(app_: Any, event: Any) -> bool:
    """True if `event` was fetched in the consumer generation that is current now (Faust stamps
    each message when it is fetched)."""
    return bool(event.message.generation_id == app_.consumer_generation_id)


def current(app_: Any, event: Any) -> bool:
    """True while `event` may still be processed: no rebalance under way (nor the commit guard's
    seek that ends it), and it was fetched in the current consumer generation."""
    return not app_.rebalancing and not second_seek_pending() and of_current_generation(app_, event)


async def drain_producer(app_: Any) -> None:
    """Wait until Faust's producer buffer has handed everything to the client."""
    buffer = app_.producer.buffer
    while buffer.size:
        await buffer.flush()


#: How long a revoke may wait for the writes made before it to reach Kafka.
REVOKE_FLUSH_TIMEOUT_S = 30.0


async def flush_before_recovery(app_: Any) -> None:
    """Let writes in progress finish, then deliver every write made so far to Kafka."""
    for finish in before_revoke_flush:
        await finish()
    await drain_producer(app_)
    await app_.producer.flush()


@app.on_partitions_revoked.connect
async def _deliver_writes_before_recovery(app_: Any, revoked: Any, **kwargs: Any) -> None:
    # a TimeoutError here crashes the worker (Faust's revoke handler), which is what we want
    async with asyncio.timeout(REVOKE_FLUSH_TIMEOUT_S):
        await flush_before_recovery(app_)


def _queued(stream: Any, app_: Any) -> Callable[[], bool]:
    """A check that the next event is already in the agent's queue and the flow is running, so
    reading it cannot wait (a fake stream without a queue always waits, bounded)."""
    queue = getattr(getattr(stream, "channel", None), "queue", None)
    flow = getattr(app_, "flow_control", None)
    if queue is None or flow is None:
        return lambda: False
    return lambda: not queue.empty() and flow.is_active() and not app_.rebalancing


async def batches(
    stream: Any, *, size: int = BATCH_SIZE, within: float = BATCH_WINDOW_S, app_: Any = None
) -> AsyncGenerator[list[Any], None]:
    """Yield lists of at most `size` events: the first event and what is queued behind it, and what
    comes within `within` seconds of the first.

    The consumer must read and write tables for a batch synchronously, before its first `await`.
    A batch's events are acked when the consumer asks for the next batch; never otherwise.
    """
    a = app if app_ is None else app_
    manual = stream.noack()
    events = manual.events().__aiter__()
    queued = _queued(manual, a)
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[Any] | None = None  # the next event, being read (it outlives a batch)
    try:
        while True:
            taken: list[Any] = []
            deadline = 0.0
            while len(taken) < size:
                if pending is None and (not taken or queued()):
                    try:  # the first event may wait unbounded; a queued one does not wait
                        event = await events.__anext__()
                    except StopAsyncIteration:
                        return
                elif pending is None and within <= 0:
                    break  # nothing more queued, and no window to wait for it
                else:
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
