"""The merger's reader of `{WORKER_ID}.partials`: every record once, in offset order.

A record comes from Kafka (an aiokafka consumer of the topic's one partition) or, when the owner
that wrote it runs in this process, from the owner itself once Kafka has acked it (`hand_over`):
the same bytes, at the offset the broker gave them. A handed-over record is used only when it is
the next offset; a gap (another worker's record, one handed over while the reader was behind or
not running) is read from Kafka, whose order is the truth.

While the reader is caught up and this worker owns every partition (no other owner writes), the
partition is paused: a record then costs no fetch. A paused reader asks for the end offset every
`CHECK_S` so that a record nobody handed over (a zombie owner's) is read within that time.

Rule: `read()` returns records with increasing offsets from `start`, none twice, none skipped
that Kafka holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

#: A paused reader checks the end offset this often.
CHECK_S = 2.0
#: Records a reader holds that it cannot use yet; more are dropped (and read from Kafka).
MAX_HANDED = 10_000


@dataclass(frozen=True, slots=True)
class Partial:
    """One record of the partials topic (the attributes of aiokafka's ConsumerRecord the merger uses)."""

    offset: int
    value: bytes | None
    key: bytes | None = None
    timestamp: int = -1


class PartialsReader:
    """Reads partition `tp` from offset `start`; `solo`: this worker owns every partition."""

    def __init__(self, consumer: AIOKafkaConsumer, tp: TopicPartition, start: int, solo: bool) -> None:
        self.consumer = consumer
        self.tp = tp
        self.next = start
        self.solo = solo
        self.handed: dict[int, Partial] = {}
        self.arrived = asyncio.Event()
        self.paused = False
        self.checked_at = 0.0
        self.fetched = 0  # records read from Kafka
        self.taken = 0  # records handed over and used
        consumer.seek(tp, start)

    def hand_over(self, records: Sequence[Partial]) -> None:
        """Records Kafka has acked, from this process's owner."""
        if len(self.handed) + len(records) > MAX_HANDED:
            return
        for record in records:
            if record.offset >= self.next:
                self.handed[record.offset] = record
        self.arrived.set()

    async def read(self, timeout_s: float) -> list[Partial]:
        """The next records: handed over, or fetched (waiting at most `timeout_s` for any)."""
        taken = self._take_handed()
        if taken:
            return taken
        if self.paused and not self.handed and await self._nothing_missed():
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self.arrived.wait()
            return self._take_handed()
        return await self._fetch(timeout_s)

    def _take_handed(self) -> list[Partial]:
        taken = []
        while (record := self.handed.pop(self.next, None)) is not None:
            taken.append(record)
            self.next += 1
        self.taken += len(taken)
        return taken

    async def _nothing_missed(self) -> bool:
        """False when Kafka holds a record at or past `next` that nobody handed over (checked every `CHECK_S`)."""
        now = time.monotonic()
        if now - self.checked_at < CHECK_S:
            return True
        self.checked_at = now
        end = (await self.consumer.end_offsets([self.tp]))[self.tp]
        return end <= self.next

    async def _fetch(self, timeout_s: float) -> list[Partial]:
        if self.paused:
            self.consumer.resume(self.tp)
            self.consumer.seek(self.tp, self.next)
            self.paused = False
        batch = await self.consumer.getmany(self.tp, timeout_ms=int(timeout_s * 1000), max_records=2000)
        out = []
        for r in batch.get(self.tp, []):
            if r.offset < self.next:
                continue  # handed over already
            out.append(Partial(r.offset, r.value, r.key, r.timestamp))
            self.next = r.offset + 1
        self.fetched += len(out)
        for offset in [o for o in self.handed if o < self.next]:
            del self.handed[offset]
        highwater = self.consumer.highwater(self.tp)
        if self.solo and not self.handed and highwater is not None and self.next >= highwater:
            self.consumer.pause(self.tp)
            self.paused = True
            self.checked_at = time.monotonic()
        return out


#: The reader of the merger running in this process, if any.
current: PartialsReader | None = None


def hand_over(records: Sequence[Partial]) -> bool:
    """Give records this process's owner wrote (and Kafka acked) to the merger, if it runs here."""
    if current is None:
        return False
    current.hand_over(records)
    return True
