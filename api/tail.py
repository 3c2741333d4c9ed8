"""The edge's consumers that follow a topic from its end: every partition, no group.

Rule: once `follow_from_end` returns, everything published to the topic from then on is read; it
waits (a bounded try at a time, retried) until the topic exists.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.kafka_meta import partitions_of

CLIENT_ID = "chinook-pulse-edge"


def edge_consumer(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer without a group and without offset commits: each edge reads for itself."""
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, client_id=CLIENT_ID)


async def follow_from_end(consumer: AIOKafkaConsumer, topic: str, retry_delay: float) -> list[TopicPartition]:
    """Assign every partition of `topic` to the (started) consumer at its end, resolved now."""
    while True:
        try:
            partitions = await partitions_of(consumer, topic, timeout_s=retry_delay)
            break
        except LookupError:
            continue  # not created yet: keep waiting
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:
        await consumer.position(tp)  # the end is fixed here, before anything is handled
    return tps
