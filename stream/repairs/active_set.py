"""Faust's fetch, made to read no partition at all when none is active, not every partition.

Faust's fetch loop asks aiokafka for the records of its active partitions, passing its own live
set (`Consumer._active_partitions`), which a rebalance empties and refills in place while the
call waits in the consumer's thread. aiokafka's `Fetcher.fetched_records` reads an empty set as
"no filter": it drains every partition with buffered records and moves their positions on, and
Faust then drops those records (their partitions are not active). A table's changelog partition
whose recovery had just been sought loses the records it waits for: recovery stalls for good
("No event received for active tp ... since recovery start"), seen as a worker that never serves
the partitions of a dead one.

`install()` hands aiokafka a view of the live set that is never empty to it: membership follows
the set, so an empty set drains nothing and the records stay buffered until a partition is active.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread


class ActiveOnly:
    """Faust's live set of active partitions as aiokafka's filter: empty means none, not all."""

    __slots__ = ("tps",)

    def __init__(self, tps: Set[Any]) -> None:
        self.tps = tps

    def __bool__(self) -> bool:
        return True  # aiokafka filters only by a truthy set

    def __contains__(self, tp: object) -> bool:
        return tp in self.tps

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self.tps))  # a copy: the main thread changes the set


_original_fetch_records = AIOKafkaConsumerThread._fetch_records


async def _fetch_records(  # Faust's signature
    self: Any,
    consumer: Any,
    active_partitions: Any,
    timeout: float | None = None,  # noqa: ASYNC109
    max_records: int | None = None,
) -> Any:
    if active_partitions is not None:
        active_partitions = ActiveOnly(active_partitions)
    return await _original_fetch_records(self, consumer, active_partitions, timeout=timeout, max_records=max_records)


def install() -> None:
    AIOKafkaConsumerThread._fetch_records = _fetch_records
