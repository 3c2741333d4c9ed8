"""Reference data (customers, tracks, albums, artists, genres) from their change topics.

Every worker keeps a full copy in memory, read by its own group-less consumer from the start of
each topic; `reference_ready` is set once the copy has caught up with the topics' ends at start-up.
Reference rows are never read from SQL at run time.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from schemas.events import ChangeEvent, Op, ParseFailure
from schemas.kafka_meta import partitions_of
from stream.app import IDLE_FETCH_WAIT_MS, app, cdc_parser, settings
from stream.dead_letters import dead_letter_record
from stream.metrics import expect_dead_letters_from
from tables.reference import ReferenceData

log = logging.getLogger(__name__)

REFERENCE_TABLES = ("customer", "track", "album", "artist", "genre")
expect_dead_letters_from(settings.cdc_topic(t) for t in REFERENCE_TABLES)

reference = ReferenceData()
reference_ready = asyncio.Event()


def apply(topic: str, key: bytes | None, value: bytes | None) -> ParseFailure | None:
    """Apply one reference record; a record that cannot be parsed is returned for the dead letters."""
    result = cdc_parser.parse(key, value, topic)
    if isinstance(result, ChangeEvent):
        reference.put(result.record, deleted=result.op == Op.DELETE)
    return result if isinstance(result, ParseFailure) else None  # tombstones and skips change nothing


async def apply_records(tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]) -> None:
    """Apply a batch of one partition. Every worker reads every reference record at every start, so
    a bad one is dead-lettered again each time (same key: `chinook-pulse dlq` folds the repeats)."""
    for r in records:
        failure = apply(tp.topic, r.key, r.value)
        if failure is not None:
            await dead_letter_record(tp.topic, tp.partition, r.offset, r.key, r.value, r.timestamp, failure.reason)


async def _assign_all(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    partitions: list[TopicPartition] = []
    for topic in topics:
        try:
            found = await partitions_of(consumer, topic, timeout_s=120)
        except LookupError as exc:
            raise RuntimeError(f"{exc}: is Debezium running?") from exc
        partitions += [TopicPartition(topic, p) for p in found]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return partitions


@app.task
async def follow_reference_data() -> None:
    topics = [settings.cdc_topic(t) for t in REFERENCE_TABLES]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",  # a position aiokafka resets lazily is the beginning too
        fetch_max_wait_ms=IDLE_FETCH_WAIT_MS,  # a long poll: answered as soon as a record arrives
    )
    await consumer.start()
    try:
        partitions = await _assign_all(consumer, topics)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp, end in ends.items() if end > 0}
        while True:
            batch = await consumer.getmany(timeout_ms=200 if pending else 10_000, max_records=5000)
            for tp, records in batch.items():
                await apply_records(tp, records)
            if pending:
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
                if not pending:
                    log.info(
                        "reference data ready: %d customers, %d tracks, %d albums, %d artists, %d genres",
                        len(reference.customers),
                        len(reference.tracks),
                        len(reference.albums),
                        len(reference.artists),
                        len(reference.genres),
                    )
            if not pending and not reference_ready.is_set():
                reference_ready.set()
    finally:
        await consumer.stop()
