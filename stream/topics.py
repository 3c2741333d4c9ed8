"""Create the public topics the worker writes (internal `pulse.*` topics are created by Faust)."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.settings import Settings

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000


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


async def ensure_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in public_topics(settings) if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another worker won the race
            log.info("created topics: %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()
