"""The merger's partials reader gives every record once, in offset order, from Kafka or handed over."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.settings import Settings
from stream.partials_reader import CHECK_S, Partial, PartialsReader
from tests.support.kafka import create_topic, delete_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
async def kafka(settings: Settings) -> AsyncIterator[tuple[TopicPartition, AIOKafkaProducer, AIOKafkaConsumer]]:
    """A fresh one-partition topic, a producer, and a consumer configured as the merger's."""
    topic = f"it-{uuid.uuid4().hex[:10]}.partials"
    await create_topic(settings.kafka_bootstrap, topic, partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=5000
    )
    await producer.start()
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    try:
        yield tp, producer, consumer
    finally:
        await consumer.stop()
        await producer.stop()
        await delete_topic(settings.kafka_bootstrap, topic)


async def write(producer: AIOKafkaProducer, tp: TopicPartition, value: bytes) -> Partial:
    meta = await producer.send_and_wait(tp.topic, value, partition=0)
    return Partial(meta.offset, value)


async def read_until(reader: PartialsReader, offset: int, within: float = 30.0) -> list[tuple[int, bytes | None]]:
    """Read until the record at `offset` came; every record read, as (offset, value)."""
    got: list[tuple[int, bytes | None]] = []
    deadline = time.monotonic() + within
    while not got or got[-1][0] < offset:
        assert time.monotonic() < deadline, f"offset {offset} not read within {within:.0f} s; read {got}"
        got += [(r.offset, r.value) for r in await reader.read(0.1)]
    return got


async def until_paused(reader: PartialsReader, within: float = 15.0) -> None:
    """Read (nothing comes) until the reader has paused its partition: it is caught up."""
    deadline = time.monotonic() + within
    while not reader.paused:
        assert time.monotonic() < deadline, f"the reader did not pause within {within:.0f} s"
        assert await reader.read(0.1) == []


async def test_a_solo_reader_takes_hand_overs_without_fetching_and_reads_gaps_from_kafka(
    kafka: tuple[TopicPartition, AIOKafkaProducer, AIOKafkaConsumer],
) -> None:
    tp, producer, consumer = kafka
    written = [await write(producer, tp, b"w%d" % i) for i in range(3)]
    reader = PartialsReader(consumer, tp, 0, solo=True)
    assert await read_until(reader, 2) == [(p.offset, p.value) for p in written]
    assert reader.fetched == 3
    await until_paused(reader)  # caught up: paused once a fetch saw the high-water mark
    assert consumer.paused() == {tp}

    # this process's owner wrote a record: it is taken as handed over, with no fetch
    own = await write(producer, tp, b"own")
    reader.hand_over([own])
    assert await reader.read(0.1) == [own]
    assert (reader.fetched, reader.taken) == (3, 1)

    # another writer's record, then one of ours handed over: the gap is read from Kafka, in order
    other = await write(producer, tp, b"other")
    own2 = await write(producer, tp, b"own2")
    reader.hand_over([own2])
    assert await read_until(reader, own2.offset) == [(other.offset, b"other"), (own2.offset, b"own2")]

    # a record nobody hands over is read within the end-offset check
    await until_paused(reader)
    lone = await write(producer, tp, b"lone")
    assert await read_until(reader, lone.offset, within=CHECK_S + 10) == [(lone.offset, b"lone")]


async def test_a_reader_never_gives_a_record_twice(
    kafka: tuple[TopicPartition, AIOKafkaProducer, AIOKafkaConsumer],
) -> None:
    tp, producer, consumer = kafka
    written = [await write(producer, tp, b"r%d" % i) for i in range(4)]
    reader = PartialsReader(consumer, tp, 1, solo=False)  # starts at offset 1
    reader.hand_over(written)  # offset 0 is before the start: ignored
    assert await reader.read(0.1) == written[1:]
    more = await write(producer, tp, b"more")
    got = await read_until(reader, more.offset)  # Kafka's copies of 1..3 come too, and are dropped
    assert got == [(more.offset, b"more")]
    assert not reader.paused  # other owners write: a reader that is not solo keeps fetching
