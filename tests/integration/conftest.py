"""Shared fixtures of the integration tests: real PostgreSQL, Kafka and Connect (no mocks).

The services come from `make test` (scripts/test.sh), or from `chinook-pulse up --only
postgres,kafka,connect` when running pytest by hand. Every wait here is bounded and names what it
waited for.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Engine, create_engine, text

from schemas.kafka_meta import partitions_of
from schemas.settings import Settings, get_settings
from tests.integration.stream.harness import Isolation, Worker

START_HINT = "start the services: `make test`, or `.venv/bin/chinook-pulse up --only postgres,kafka,connect`"


def _json_or_none(raw: bytes | None) -> Any:
    return None if raw is None else json.loads(raw)


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
    """Reads every partition of one topic from where it ended when `start` ran (no consumer group)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            request_timeout_ms=10_000,
        )
        self.pending: list[Record] = []

    async def start(self, wait_s: float = 30.0, from_beginning: bool = False) -> None:
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
                    key, value = _json_or_none(m.key), _json_or_none(m.value)
                    self.pending.append(
                        Record(tp.topic, tp.partition, m.offset, key, value, m.timestamp, m.key, m.value)
                    )


TailFactory = Callable[..., Awaitable[TopicTail]]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_engine(settings.sqlalchemy_url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {settings.database_url} unreachable ({type(exc).__name__}): {START_HINT}")
    yield engine
    engine.dispose()


@pytest.fixture
async def topic_tail(settings: Settings) -> AsyncIterator[TailFactory]:
    """`await topic_tail(topic)`: a started TopicTail, stopped after the test."""
    tails: list[TopicTail] = []

    async def open_tail(topic: str, from_beginning: bool = False) -> TopicTail:
        tail = TopicTail(settings.kafka_bootstrap, topic)
        tails.append(tail)
        try:
            await tail.start(from_beginning=from_beginning)
        except Exception as exc:
            raise AssertionError(
                f"cannot read {topic} from Kafka at {settings.kafka_bootstrap}: {exc}; {START_HINT}"
            ) from exc
        return tail

    yield open_tail
    for tail in tails:
        await tail.stop()


@pytest.fixture
def isolation() -> Isolation:
    """Worker group, deltas and dead-letter topics of this test alone."""
    return Isolation()


@pytest.fixture
def workers(isolation: Isolation) -> Iterator[list[Worker]]:
    """Worker processes a test starts (append them); stopped after it."""
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()
