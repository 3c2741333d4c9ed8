"""Create the topics the worker reads and writes, before Faust starts.

A consumer whose metadata was fetched before a topic existed ignores it until its metadata is
refreshed (minutes), so every topic an agent reads exists before the worker subscribes. The
control topic has the CDC topics' partition count: it is co-partitioned with them (one owner per
partition number). The partials topic has one partition: one total order for the merger. The
tables' changelogs are Faust's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from schemas.settings import Settings

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000


#: The worker group's own topics, `{WORKER_ID}.{name}` (see stream/app.py).
CONTROL = "control"  # the merger's snapshot requests, one partition per owner partition
PARTIALS = "partials"  # the owners' records for the merger
CHECKPOINTS = "checkpoints"  # the sequencer's state with the deltas offsets it covers
INTERNAL_TOPICS = (CONTROL, PARTIALS, CHECKPOINTS)


def internal_topic_name(settings: Settings, name: str) -> str:
    return f"{settings.worker_id}.{name}"


def internal_topics(settings: Settings) -> list[NewTopic]:
    day = {"retention.ms": str(24 * HOUR_MS)}
    return [
        NewTopic(internal_topic_name(settings, CONTROL), settings.topic_partitions, 1, topic_configs=day),
        NewTopic(internal_topic_name(settings, PARTIALS), 1, 1, topic_configs=day),
        # only the last checkpoint is read: compacted, in segments that roll every ten minutes
        NewTopic(
            internal_topic_name(settings, CHECKPOINTS),
            1,
            1,
            topic_configs={"cleanup.policy": "compact", "segment.ms": str(HOUR_MS // 6)},
        ),
    ]


def public_topics(settings: Settings) -> list[NewTopic]:
    n = settings.topic_partitions
    return [
        # unsequenced deltas: short-lived
        NewTopic(settings.deltas_topic + ".in", n, 1, topic_configs={"retention.ms": str(24 * HOUR_MS)}),
        # sequenced deltas: compacted by channel, with at least an hour of full history for resume
        NewTopic(
            settings.deltas_topic,
            n,
            1,
            topic_configs={
                "cleanup.policy": "compact",
                "min.compaction.lag.ms": str(HOUR_MS),
                "segment.ms": str(HOUR_MS),
            },
        ),
        # dead letters are kept for a month
        NewTopic(settings.dlq_topic, n, 1, topic_configs={"retention.ms": str(30 * 24 * HOUR_MS)}),
    ]


def created_names(topic_errors: Iterable[Sequence[Any]]) -> list[str]:
    """The topics a CreateTopics response says were created. The broker reports "already exists"
    (another worker won the race) in the response rather than as an exception; any other error
    is raised."""
    created = []
    for name, code, *_ in topic_errors:
        if code == 0:
            created.append(name)
        elif code != TopicAlreadyExistsError.errno:
            raise for_code(code)(f"creating topic {name}")
    return created


async def ensure_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in public_topics(settings) + internal_topics(settings) if t.name not in existing]
        created = []
        for topic in missing:  # one by one: another worker may be creating some of them
            try:
                response = await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                continue  # another worker won the race
            created += created_names(response.topic_errors)
        if created:
            log.info("created topics: %s", ", ".join(created))
    finally:
        await admin.close()
