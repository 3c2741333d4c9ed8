"""Kafka plumbing shared by the ops commands: clients, offsets, ranges, consumer groups."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.kafka_meta import partitions_of

READ_TIMEOUT_MS = 10_000


class OpsError(Exception):
    """A refusal or failure the command reports in one line (unknown topic, offsets out of range...)."""


@contextlib.asynccontextmanager
async def consumer(bootstrap: str, group_id: str | None = None) -> AsyncIterator[AIOKafkaConsumer]:
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=30_000,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


@contextlib.asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@contextlib.asynccontextmanager
async def admin(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    a = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await a.start()
    try:
        yield a
    finally:
        await a.close()


async def topic_partitions(c: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    if topic not in await c.topics():
        raise OpsError(f"unknown topic {topic!r}")
    return [TopicPartition(topic, p) for p in await partitions_of(c, topic, timeout_s=30)]


async def read_range(
    c: AIOKafkaConsumer, tp: TopicPartition, start: int, end: int
) -> AsyncIterator[list[ConsumerRecord[Any, Any]]]:
    """Batches of the records of `tp` with start <= offset < end (bounded: fails if the broker goes quiet)."""
    if end <= start:
        return
    c.assign([tp])
    c.seek(tp, start)
    while await c.position(tp) < end:
        batch = await c.getmany(tp, timeout_ms=READ_TIMEOUT_MS, max_records=5000)
        records = [r for r in batch.get(tp, []) if r.offset < end]
        if not batch:
            position = await c.position(tp)
            if position >= end:
                break
            quiet = READ_TIMEOUT_MS / 1000
            raise OpsError(f"no record of {tp.topic}[{tp.partition}] arrived for {quiet:.0f}s at offset {position}")
        if records:
            yield records
        if batch.get(tp) and batch[tp][-1].offset >= end - 1:
            break


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    client_id: str
    host: str


@dataclass(frozen=True, slots=True)
class GroupInfo:
    group: str
    state: str
    members: tuple[Member, ...]


async def describe_group(a: AIOKafkaAdminClient, group: str) -> GroupInfo:
    """The group's state (Stable, Empty, Dead...) and its live members."""
    [response] = await a.describe_consumer_groups([group])
    for entry in response.groups:
        fields = list(entry)
        group_id, state, members = fields[1], fields[2], fields[5]
        if group_id == group:
            found = tuple(Member(str(m[0]), str(m[1]), str(m[2])) for m in members)
            return GroupInfo(group, str(state), found)
    return GroupInfo(group, "Dead", ())
