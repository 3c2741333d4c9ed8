"""Which worker owns a key: the one assigned the key's partition of a topic (no other coordination)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiokafka.partitioner import DefaultPartitioner
from faust.types import TP, TopicT

from stream.app import (
    app,
    settings,
)

_partitioner = DefaultPartitioner()


def partition_of(key: bytes, partitions: int | None = None) -> int:
    """The partition Kafka's default partitioner picks for `key` (murmur2, as every producer here)."""
    n = partitions or settings.topic_partitions
    all_partitions = list(range(n))
    return int(_partitioner(key, all_partitions, all_partitions))


def owns(topic: TopicT, key: bytes) -> bool:
    """True when this worker actively owns the partition of `topic` that `key` lands in."""
    name = next(iter(topic.topics))
    return TP(name, partition_of(key)) in app.assignor.assigned_actives()


def on_rebalance(*resets: Callable[[], None]) -> None:
    """Call the `resets` whenever partitions are revoked or assigned: in-memory state derived from the
    tables (sums, newest-invoice lists, what was last published) is stale then and is rebuilt."""

    async def handler(app_: Any, partitions: Any, **kwargs: Any) -> None:
        for reset in resets:
            reset()

    app.on_partitions_revoked.connect(handler)
    app.on_partitions_assigned.connect(handler)


def state_ready() -> bool:
    """False while a rebalance or table recovery is under way: state may be incomplete then."""
    return not (app.rebalancing or app.in_recovery) and app.tables.recovery.completed.is_set()
