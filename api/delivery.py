"""Consume `chinook.deltas` into the edge: every partition, no consumer group, history refilled first.

Each edge process has its own consumer (``group_id=None``) and assigns itself every partition, so
every edge sees every delta. On start it seeks each partition back ``refill_records_per_partition``
records and replays them into the history; `Edge.ready` is set once it reaches the end offsets it
saw at start.
"""

from __future__ import annotations

import logging
from typing import Any

from api.history import InvalidDelta, delta_from_record
from api.retry import retry_forever
from api.state import Edge
from schemas.kafka_meta import partitions_of

log = logging.getLogger(__name__)


def apply_record(edge: Edge, value: bytes | None) -> None:
    edge.metrics.inc("edge_deltas_consumed_total")
    if value is None:
        return
    try:
        delta = delta_from_record(value)
    except InvalidDelta as exc:
        edge.metrics.inc("edge_deltas_invalid_total")
        log.warning("skipping an invalid delta: %s", exc)
        return
    edge.apply(delta)


class DeltaConsumer:
    def __init__(self, edge: Edge, *, retry_delay: float = 1.0) -> None:
        self.edge = edge
        self.topic = edge.settings.deltas_topic
        self.retry_delay = retry_delay

    async def run(self) -> None:
        """Consume until cancelled; reconnects (and refills nothing twice: seq dedupes) on failures."""
        await retry_forever(self._run_once, name="deltas consumer", delay=self.retry_delay, on_failure=self._mark_down)

    def _mark_down(self) -> None:
        self.edge.consumer_state = "down"

    async def _run_once(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.edge.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="chinook-pulse-edge",
        )
        self.edge.consumer_state = "connecting"
        await consumer.start()
        try:
            while True:
                try:
                    partitions = await partitions_of(consumer, self.topic, timeout_s=self.retry_delay)
                    break
                except LookupError:
                    # No deltas topic yet: nothing to refill, so the (empty) history is complete.
                    self.edge.consumer_state = "waiting-for-topic"
                    self.edge.ready.set()
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            begin = await consumer.beginning_offsets(tps)
            end = await consumer.end_offsets(tps)
            targets: dict[Any, int] = {}
            refill = self.edge.config.refill_records_per_partition
            for tp in tps:
                start = max(begin[tp], end[tp] - refill)
                consumer.seek(tp, start)
                if end[tp] > start:
                    targets[tp] = end[tp]
            self.edge.consumer_state = "refilling" if targets else "live"
            if not targets:
                self.edge.ready.set()
            log.info("deltas consumer assigned %d partitions, refilling %d", len(tps), len(targets))
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                for records in batches.values():
                    for record in records:
                        apply_record(self.edge, record.value)
                for tp in tps:
                    position = await consumer.position(tp)
                    highwater = consumer.highwater(tp)
                    if highwater is not None:
                        self.edge.metrics.set(
                            "edge_consumer_lag", float(max(0, highwater - position)), partition=str(tp.partition)
                        )
                    if tp in targets and position >= targets[tp]:
                        del targets[tp]
                        if not targets:
                            self.edge.consumer_state = "live"
                            self.edge.ready.set()
                            log.info("history refilled for %d channels", len(self.edge.history))
        finally:
            await consumer.stop()
