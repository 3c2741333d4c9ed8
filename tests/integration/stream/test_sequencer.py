"""A starting merger reads back everything `chinook.deltas` holds, with or without a checkpoint."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from schemas.settings import Settings
from stream import sequencer
from tests.support.kafka import Deltas, create_topic, delete_topic, open_deltas

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CHANNELS = ("private-admin.invoices", "private-admin.sales", "private-admin.users")


@pytest.fixture
async def deltas_topic(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A fresh deltas topic (3 partitions) the sequencer reads instead of the configured one."""
    topic = f"it-{uuid.uuid4().hex[:10]}.deltas"
    await create_topic(settings.kafka_bootstrap, topic)
    monkeypatch.setattr(sequencer, "settings", sequencer.settings.model_copy(update={"deltas_topic": topic}))
    yield topic
    await delete_topic(settings.kafka_bootstrap, topic)


async def publish(deltas: Deltas, per_channel: int) -> dict[str, int]:
    for n in range(per_channel):
        for channel in CHANNELS:
            await deltas.send(channel, "SalesUpdated", {"n": n})
    return dict(deltas.seqs)


async def test_a_read_back_without_a_checkpoint_reads_every_delta(settings: Settings, deltas_topic: str) -> None:
    # A merger that takes over before its predecessor wrote a checkpoint reads the topic from the start.
    # It once ended at the topic's end (aiokafka's seek_to_beginning after an await) and numbered from 1 again.
    async with open_deltas(settings.kafka_bootstrap, deltas_topic) as deltas:
        published = await publish(deltas, per_channel=40)
    for _ in range(3):  # the lost read-back depended on timing inside aiokafka
        state = await sequencer.read_published(timeout_s=60)
        assert state.seqs == published
    assert sum(state.read_to.values()) == 40 * len(CHANNELS)


async def test_a_read_back_continues_from_where_another_stopped(settings: Settings, deltas_topic: str) -> None:
    async with open_deltas(settings.kafka_bootstrap, deltas_topic) as deltas:
        await publish(deltas, per_channel=10)
        early = await sequencer.read_published(timeout_s=60)  # a read-back while the worker starts
        assert early.seqs == dict.fromkeys(CHANNELS, 10)
        published = await publish(deltas, per_channel=5)  # the previous merger went on
    state = await sequencer.read_published(timeout_s=60, since=early)
    assert state.seqs == published == dict.fromkeys(CHANNELS, 15)
