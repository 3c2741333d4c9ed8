"""Faust's producer buffer flush, made to hand over everything that was buffered when it began.

Table writes (`table[key] = value`) do not go to Kafka at once: they wait in Faust's
`ProducerBuffer` until its background task hands them to the Kafka client one by one. Before it
commits offsets (every commit, and on every revoke) Faust flushes that buffer, then the client.
But `ProducerBuffer.flush` gives up as soon as one message takes more than 0.1 s to be handed
over (faust/transport/producer.py, `flush_atmost`), which happens under load when the client
waits for a full batch to drain. The offsets are then committed while some of the state writes
they cover are still in the buffer. After a rebalance the new owner of the partition restores
the table from a changelog without those writes and, the offsets being committed, never sees the
events again: state is lost for good. (Seen here: two workers starting together on a loaded
machine lost the rows of a dozen early invoices.)

`install()` replaces the flush: it waits until every message that was in the buffer when the
flush began has been handed to the client (later writes may stay; they belong to later commits),
for at most `FLUSH_LIMIT_S`. Past that it raises, which makes Faust's commit fail and the worker
crash, so a restarted worker reprocesses from the last good commit instead of losing state.
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.transport.producer import ProducerBuffer

#: The longest a flush may wait for the buffered messages to be handed to the Kafka client.
FLUSH_LIMIT_S = 120.0

_original_send_pending = ProducerBuffer._send_pending
_original_put = ProducerBuffer.put


def _counting_put(self: Any, fut: Any) -> None:
    _original_put(self, fut)
    self.pulse_buffered = getattr(self, "pulse_buffered", 0) + 1


async def _counting_send_pending(self: Any, fut: Any) -> None:
    await _original_send_pending(self, fut)
    self.pulse_handed_over = getattr(self, "pulse_handed_over", 0) + 1


async def flush_buffered(self: Any) -> None:
    """Return once every message buffered at the call has been handed to the Kafka client."""
    if self.state != "running":  # stopping: Faust's own best effort
        await self.flush_atmost(None)
        return
    target = getattr(self, "pulse_buffered", 0)  # one may be on its way out already: not in `size`
    deadline = asyncio.get_running_loop().time() + FLUSH_LIMIT_S
    while getattr(self, "pulse_handed_over", 0) < target:
        if self.state != "running":
            raise RuntimeError("Cannot flush: producer buffer not running")
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise RuntimeError(
                f"producer buffer: {target - getattr(self, 'pulse_handed_over', 0)} table write(s) not handed to Kafka "
                f"in {FLUSH_LIMIT_S:.0f} s; not committing offsets past them"
            )
        self.message_sent.clear()
        try:
            await asyncio.wait_for(self.message_sent.wait(), timeout=min(left, 1.0))
        except TimeoutError:
            continue


def install() -> None:
    """Patch `ProducerBuffer` (before the app's producer starts its buffer task)."""
    ProducerBuffer.put = _counting_put
    ProducerBuffer._send_pending = _counting_send_pending
    ProducerBuffer.flush = flush_buffered
