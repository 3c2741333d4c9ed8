"""Reading and writing Kafka as the tests need it: topic tails, fresh topics, sequenced deltas.

No consumer group anywhere (every partition is assigned), and every wait is bounded and names
what it waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.kafka_meta import partitions_of
from schemas.messages import Delta


def _json_or_none(raw: bytes | None) -> Any:
    return json.loads(raw) if raw else None


@dataclass(frozen=True)
class Record:
    """One Kafka record with its key and value decoded from JSON (None for a tombstone)."""

    topic: str
    partition: int
    offset: int
    key: Any
    value: Any
    timestamp_ms: int
    raw_key: bytes | None = None
    raw_value: bytes | None = None


class TopicTail:
    """Reads every partition of one topic from where it ended when `start` ran (no consumer group).

    Keys are JSON-decoded too unless `json_keys` is False (then `Record.key` is None; see `raw_key`).
    """

    def __init__(self, bootstrap: str, topic: str, *, json_keys: bool = True) -> None:
        self.topic = topic
        self.json_keys = json_keys
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            request_timeout_ms=10_000,
        )
        self.pending: list[Record] = []

    async def start(self, wait_s: float = 30.0, from_beginning: bool = False) -> TopicTail:
        await asyncio.wait_for(self.consumer.start(), wait_s)
        try:
            partitions = await partitions_of(self.consumer, self.topic, wait_s)
        except LookupError as exc:
            raise AssertionError(f"timed out after {wait_s:.0f}s waiting for topic {self.topic} to exist") from exc
        tps = [TopicPartition(self.topic, p) for p in partitions]
        self.consumer.assign(tps)  # no group: every partition is ours
        if from_beginning:
            await self.consumer.seek_to_beginning(*tps)
        else:
            await self.consumer.seek_to_end(*tps)
        for tp in tps:  # resolve the end offsets now, before the test writes anything
            await asyncio.wait_for(self.consumer.position(tp), wait_s)
        return self

    async def stop(self) -> None:
        await self.consumer.stop()

    async def next_where(self, match: Callable[[Record], bool], *, within: float, what: str) -> Record:
        """The next record that `match`es (earlier non-matching ones are dropped)."""
        deadline = time.monotonic() + within
        while True:
            while self.pending:
                record = self.pending.pop(0)
                if match(record):
                    return record
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {within:.0f}s waiting for {what} on {self.topic}")
            batches = await self.consumer.getmany(timeout_ms=int(min(left, 1.0) * 1000))
            for tp, messages in sorted(batches.items(), key=lambda item: item[0].partition):
                for m in messages:
                    key = _json_or_none(m.key) if self.json_keys else None
                    value = _json_or_none(m.value)
                    self.pending.append(
                        Record(tp.topic, tp.partition, m.offset, key, value, m.timestamp, m.key, m.value)
                    )


TailFactory = Callable[..., Awaitable[TopicTail]]


class RawTail:
    """Reads every partition of a topic from its end at `start`: (raw key bytes, JSON value) pairs."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.tail = TopicTail(bootstrap, topic, json_keys=False)

    async def start(self, within: float = 30.0) -> RawTail:
        await self.tail.start(within)
        return self

    async def next_where(self, match: Callable[[bytes, Any], bool], *, within: float, what: str) -> tuple[bytes, Any]:
        record = await self.tail.next_where(
            lambda r: match(r.raw_key or b"", r.value if r.raw_value else None), within=within, what=what
        )
        return record.raw_key or b"", record.value if record.raw_value else None

    async def stop(self) -> None:
        await self.tail.stop()


async def create_topic(bootstrap: str, topic: str, partitions: int = 3, within: float = 30.0) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await asyncio.wait_for(admin.start(), within)
    try:
        await asyncio.wait_for(admin.create_topics([NewTopic(topic, partitions, replication_factor=1)]), within)
    finally:
        await admin.close()


async def delete_topic(bootstrap: str, topic: str, within: float = 30.0) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await asyncio.wait_for(admin.start(), within)
    try:
        await asyncio.wait_for(admin.delete_topics([topic]), within)
    finally:
        await admin.close()


@dataclass
class Deltas:
    """Produces sequenced deltas as the worker's sequencer does (key = channel, seq +1 per channel)."""

    producer: AIOKafkaProducer
    topic: str
    seqs: dict[str, int] = field(default_factory=dict)

    async def send(self, channel: str, event: str, data: Any = None, *, seq: int | None = None) -> int:
        """Publish one delta; its seq is `seq` if given, else one more than the channel's last."""
        n = seq if seq is not None else self.seqs.get(channel, 0) + 1
        self.seqs[channel] = max(n, self.seqs.get(channel, 0))
        delta = Delta(channel, event, {} if data is None else data, n, int(time.time() * 1000))
        await asyncio.wait_for(self.producer.send_and_wait(self.topic, delta.encode(), key=channel.encode()), 30)
        return n


@contextlib.asynccontextmanager
async def open_deltas(bootstrap: str, topic: str) -> AsyncIterator[Deltas]:
    """A started `Deltas` producer on `topic`, stopped on exit."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await asyncio.wait_for(producer.start(), 30)
    try:
        yield Deltas(producer, topic)
    finally:
        await producer.stop()
