"""Shared fixtures of the integration tests: real PostgreSQL, Kafka and Connect (no mocks).

The services come from `make test` (scripts/test.sh), or from `chinook-pulse up --only
postgres,kafka,connect` when running pytest by hand. Every wait here is bounded and names what it
waited for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from schemas.settings import Settings, get_settings
from tests.support.kafka import TailFactory, TopicTail
from tests.support.services import START_HINT
from tests.support.workers import Isolation, Worker


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
