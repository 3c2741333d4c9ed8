"""Kafka metadata shared by the worker, the edge, the ops commands and the tests.

Rule: the one place that asks aiokafka for a topic's partitions (it has no public call for an
untracked topic); every wait here is bounded by the caller's timeout.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError


async def partitions_of(consumer: AIOKafkaConsumer, topic: str, timeout_s: float = 30.0) -> list[int]:
    """The topic's partitions, waiting (bounded) for it to exist; raises LookupError when it never does.

    aiokafka's `partitions_for_topic` only knows topics the client already tracks, so the topic is
    added to the client's metadata first (the way aiokafka's own producer does it).
    """
    client = consumer._client
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        try:
            wait = max(0.1, min(5.0, deadline - loop.time()))
            found = await asyncio.wait_for(client._wait_on_metadata(topic), timeout=wait)
        except (TimeoutError, KafkaError):
            found = None
        if found:
            return sorted(found)
        if loop.time() > deadline:
            raise LookupError(f"topic {topic!r} does not exist (waited {timeout_s:.0f} s)")
        await asyncio.sleep(0.5)
