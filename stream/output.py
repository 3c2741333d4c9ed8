"""What the worker writes to Kafka leaves in batches: one aiokafka batch per topic partition.

Faust's `Topic.send` and table writes cost ~100-150 µs per record (a `FutureMessage`, its
callbacks, the producer buffer). The worker knows what a batch or a tick produced all at once, so
it hands each partition's records to Faust's own aiokafka producer as one `BatchBuilder`: a record
then costs a few µs, and Faust's producer flush (before every offset commit) still covers them.

Rule: the records of one partition are written in the order given (aiokafka keeps one batch in
flight per partition), and `Sent.delivered` completes when every one of them is in Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from stream.app import app

Record = tuple[bytes | None, bytes | None]  # (key, value)

_partitioner = DefaultPartitioner()


def producer() -> AIOKafkaProducer:
    """Faust's aiokafka producer (the faust-streaming version is pinned: stream/repairs)."""
    return app.producer._ensure_producer()


_partitions: dict[str, list[int]] = {}
_key_partition: dict[tuple[str, bytes], int] = {}


async def partition_of(topic: str, key: bytes) -> int:
    """The partition Kafka's default partitioner (murmur2) gives `key` in `topic`, as a keyed send would."""
    known = _key_partition.get((topic, key))
    if known is not None:
        return known
    partitions = _partitions.get(topic)
    if partitions is None:
        partitions = _partitions[topic] = sorted(await producer().partitions_for(topic))
    if len(_key_partition) >= 10_000:
        _key_partition.clear()
    p = _key_partition[(topic, key)] = _partitioner(key, partitions, partitions)
    return p


@dataclass
class Sent:
    """The batches sent to one partition: their delivery and the offset of the last record."""

    partition: int
    futures: list[asyncio.Future[object]]
    counts: list[int]

    async def last_offset(self) -> int | None:
        """Wait for every batch; the offset of the last record (None when nothing was sent)."""
        last = None
        for fut, count in zip(self.futures, self.counts, strict=True):
            meta = await fut
            last = meta.offset + count - 1  # type: ignore[attr-defined]  # RecordMetadata of the batch's base
        return last

    async def offsets(self) -> list[int]:
        """Wait for every batch; the offset of each record, in the order given."""
        out: list[int] = []
        for fut, count in zip(self.futures, self.counts, strict=True):
            meta = await fut
            base: int = meta.offset  # type: ignore[attr-defined]  # RecordMetadata of the batch's first record
            out += range(base, base + count)
        return out


async def send_batch(topic: str, partition: int, records: Iterable[Record]) -> Sent:
    """Queue `records` for `topic`/`partition` as few batches as fit; returns without waiting for delivery."""
    kafka = producer()
    sent = Sent(partition, [], [])
    batch, count = kafka.create_batch(), 0
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:  # full: send it, start another
            if count == 0:
                raise ValueError(f"a record for {topic} is larger than a producer batch")
            sent.futures.append(await kafka.send_batch(batch, topic, partition=partition))
            sent.counts.append(count)
            batch, count = kafka.create_batch(), 0
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a record for {topic} is larger than a producer batch")
        count += 1
    if count:
        sent.futures.append(await kafka.send_batch(batch, topic, partition=partition))
        sent.counts.append(count)
    return sent


async def send_all(topic: str, by_partition: Mapping[int, Sequence[Record]]) -> list[Sent]:
    """`send_batch` for every partition with records."""
    return [await send_batch(topic, p, records) for p, records in sorted(by_partition.items()) if records]


async def delivered(sent: Iterable[Sent]) -> None:
    """Wait until every record of `sent` is in Kafka."""
    for s in sent:
        await s.last_offset()
