"""Which worker owns a key: the one assigned the key's partition of a topic (no other coordination)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiokafka.partitioner import DefaultPartitioner
from faust.types import TP, TopicT

from stream.app import (
    app,
    cdc_invoices,
    cdc_users,
    day_contributions,
    invoice_changes,
    invoice_facts,
    settings,
    user_changes,
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


#: The topics the agents read, whose backlog must be drained before state counts as complete.
INPUT_TOPICS: frozenset[str] = frozenset(
    name
    for topic in (cdc_invoices, cdc_users, invoice_changes, day_contributions, invoice_facts, user_changes)
    for name in topic.topics
)


class _CatchUp:
    """Whether this worker has once read every assigned partition up to its high-water mark.

    Until then (a cold start reading the whole change history) the derived state is partial, so
    the timers do not publish it: the first delta a dashboard sees is already complete.
    """

    done = False

    def check(self) -> bool:
        if self.done:
            return True
        if not state_ready():
            return False
        consumer = app.consumer
        read_offsets = getattr(consumer, "_read_offset", {})
        inputs = [tp for tp in app.assignor.assigned_actives() if tp.topic in INPUT_TOPICS]
        if not inputs:
            return False  # not assigned yet: nothing proves the state complete
        for tp in inputs:
            highwater = consumer.highwater(tp)
            if highwater is None:
                return False
            read = read_offsets.get(tp)
            if highwater > 0 and (read is None or read < highwater - 1):
                return False
        self.done = True
        return True


caught_up = _CatchUp().check
