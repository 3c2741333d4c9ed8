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
from aiokafka import AIOKafkaConsumer
from sqlalchemy import Engine, create_engine, text

from schemas.settings import Settings, get_settings

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
            key_deserializer=_json_or_none,
            value_deserializer=_json_or_none,
        )
        self.pending: list[Record] = []

    async def start(self, wait_s: float = 30.0) -> None:
        await asyncio.wait_for(self.consumer.start(), wait_s)
        self.consumer.subscribe([self.topic])  # no group: every partition is assigned to us
        deadline = time.monotonic() + wait_s
        while not self.consumer.assignment():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {wait_s:.0f}s waiting for topic {self.topic} to exist")
            await self.consumer.getmany(timeout_ms=200)  # lets the consumer fetch metadata, assign
        tps = sorted(self.consumer.assignment(), key=lambda tp: tp.partition)
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
                    self.pending.append(Record(tp.topic, tp.partition, m.offset, m.key, m.value, m.timestamp))


TailFactory = Callable[[str], Awaitable[TopicTail]]


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

    async def open_tail(topic: str) -> TopicTail:
        tail = TopicTail(settings.kafka_bootstrap, topic)
        tails.append(tail)
        try:
            await tail.start()
        except Exception as exc:
            raise AssertionError(
                f"cannot read {topic} from Kafka at {settings.kafka_bootstrap}: {exc}; {START_HINT}"
            ) from exc
        return tail

    yield open_tail
    for tail in tails:
        await tail.stop()
