"""With no partition active, Faust's fetch drains nothing; aiokafka alone would drain every partition."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.consumer.fetcher import Fetcher, FetchResult
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.structs import TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from stream.repairs import active_set

CHANGELOG = TopicPartition("app-rows-changelog", 1)


class _Client:
    """What aiokafka's Fetcher asks of its client before any fetch: no broker is reached."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._metadata_max_age_ms = 300_000
        self.cluster = SimpleNamespace(leader_for_partition=lambda tp: -1)
        self._never: asyncio.Future[None] = loop.create_future()

    def force_metadata_update(self) -> asyncio.Future[None]:
        return self._never


class _Records:
    """Two fetched records of the changelog partition, from offset 0 (aiokafka's PartitionRecords)."""

    def __init__(self) -> None:
        self.next_fetch_offset = 0
        self._left = iter(["r0", "r1"])

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        record = next(self._left)
        self.next_fetch_offset += 1
        return record


@pytest.fixture
async def buffered() -> AsyncIterator[tuple[Fetcher, Any]]:
    """A real aiokafka fetcher holding two fetched records of a changelog partition sought to 0."""
    subscriptions = SubscriptionState()
    subscriptions.subscribe({CHANGELOG.topic})
    subscriptions.assign_from_subscribed({CHANGELOG})
    fetcher = Fetcher(_Client(asyncio.get_running_loop()), subscriptions)
    await asyncio.sleep(0.02)
    assignment = subscriptions.subscription.assignment
    state = assignment.state_value(CHANGELOG)
    state.seek(0)
    fetched = FetchResult(CHANGELOG, assignment=assignment, partition_records=_Records(), backoff=0.1)
    fetcher._records[CHANGELOG] = fetched
    try:
        yield fetcher, state
    finally:
        await fetcher.close()


async def test_aiokafka_reads_an_empty_partition_set_as_every_partition(buffered: tuple[Fetcher, Any]) -> None:
    """What the repair guards against (fails once aiokafka stops doing it: the repair can go then)."""
    fetcher, state = buffered
    drained = await fetcher.fetched_records(set(), timeout=0)
    assert drained == {CHANGELOG: ["r0", "r1"]} and state.position == 2


async def test_faust_s_fetch_drains_nothing_while_no_partition_is_active(
    buffered: tuple[Fetcher, Any], tmp_path: Path
) -> None:
    active_set.install()
    fetcher, state = buffered
    app = faust.App("unit-active-set", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    thread = app.consumer._thread
    assert isinstance(thread, AIOKafkaConsumerThread)
    app.consumer.flow_active = True
    consumer = SimpleNamespace(_fetcher=fetcher, _closed=False)
    active: set[TopicPartition] = set()  # Faust's live set, emptied by a rebalance
    assert await thread._fetch_records(consumer, active, timeout=0) == {}
    assert state.position == 0 and CHANGELOG in fetcher._records  # still there for its recovery
    active.add(CHANGELOG)  # recovery resumes the partition
    assert await thread._fetch_records(consumer, active, timeout=0) == {CHANGELOG: ["r0", "r1"]}
    assert state.position == 2
