"""Which partitions this worker owns, and whether its state is complete (no rebalance, no recovery)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from stream.app import app, settings

_partitioner = DefaultPartitioner()


def partition_of(key: bytes, partitions: int | None = None) -> int:
    """The partition Kafka's default partitioner picks for `key` (murmur2, as every producer here)."""
    n = partitions or settings.topic_partitions
    all_partitions = list(range(n))
    return int(_partitioner(key, all_partitions, all_partitions))


def owned_partitions(topic: str) -> list[int]:
    """The partitions of `topic` this worker actively owns now."""
    return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)


def on_rebalance(*resets: Callable[[], None]) -> None:
    """Call the `resets` whenever partitions are revoked or assigned: in-memory state derived from the
    tables is stale then and is rebuilt."""

    async def handler(app_: Any, partitions: Any, **kwargs: Any) -> None:
        for reset in resets:
            reset()

    app.on_partitions_revoked.connect(handler)
    app.on_partitions_assigned.connect(handler)


def state_ready() -> bool:
    """False while a rebalance or table recovery is under way: state may be incomplete then."""
    return not (app.rebalancing or app.in_recovery) and app.tables.recovery.completed.is_set()
