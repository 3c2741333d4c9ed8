"""Publishing waits until the worker group has caught up with the change history.

A group that starts from nothing (a new `WORKER_ID`, or after `chinook-pulse rebuild`) reads the
whole change history first. Until it is through, its sums are partial and its invoice
notifications are history: a dashboard would see totals climb from zero and a toast for every
invoice ever streamed. So nothing is published until the group has caught up.

Caught up means: the group's committed offsets (Kafka's, so partitions with no backlog count too)
have reached, on every partition of every input topic, the end offsets measured at the start of
a round, for one round per pipeline stage (CDC -> invoice changes -> day contributions and invoice
facts): a stage's backlog only exists once the stage before it has read its own. Every rebalance
starts over (state may be moving between workers), so a running group pauses publishing for a few
commit intervals; the state-carrying deltas (`SalesUpdated`, `LatestInvoicesUpdated`, ...) are
published again once it has caught up, since what was last published is forgotten on rebalance.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.kafka_meta import partitions_of
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
from stream.ownership import on_rebalance

log = logging.getLogger(__name__)

#: The topics the agents read, whose backlog must be drained before the state counts as complete.
INPUT_TOPICS: frozenset[str] = frozenset(
    name
    for topic in (cdc_invoices, cdc_users, invoice_changes, day_contributions, invoice_facts, user_changes)
    for name in topic.topics
)

#: Stages an input record may pass through before it reaches a table: one round each.
PIPELINE_DEPTH = 3


class CatchUp:
    """Rounds of "the group's committed offsets reached the end offsets measured at the round's start"."""

    def __init__(self, group: str, topics: Iterable[str], rounds: int = PIPELINE_DEPTH) -> None:
        self.group = group
        self.topics = sorted(topics)
        self.rounds = rounds
        self.rounds_done = 0
        self.targets: dict[TopicPartition, int] | None = None
        self._epoch = 0

    @property
    def done(self) -> bool:
        return self.rounds_done >= self.rounds

    def reset(self) -> None:
        self.rounds_done = 0
        self.targets = None
        self._epoch += 1

    def reached(self, committed: dict[TopicPartition, int]) -> bool:
        """Whether `committed` (next offsets to read, per partition) reaches this round's targets."""
        assert self.targets is not None
        return all(end == 0 or committed.get(tp, -1) >= end for tp, end in self.targets.items())

    async def advance(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        """One step: start a round (measure the end offsets) or close it (the group reached them)."""
        if self.done:
            return
        epoch = self._epoch
        if self.targets is None:
            targets = await end_offsets(consumer, self.topics)
            if epoch == self._epoch:  # no rebalance meanwhile
                self.targets = targets
            return
        offsets = await admin.list_consumer_group_offsets(self.group)
        committed = {tp: meta.offset for tp, meta in offsets.items()}
        if epoch == self._epoch and self.reached(committed):
            self.rounds_done += 1
            self.targets = None
            if self.done:
                log.info("caught up with the change history: publishing")


async def end_offsets(consumer: AIOKafkaConsumer, topics: list[str]) -> dict[TopicPartition, int]:
    partitions = [TopicPartition(t, p) for t in topics for p in await partitions_of(consumer, t)]
    return dict(await consumer.end_offsets(partitions))


catch_up = CatchUp(settings.worker_id, INPUT_TOPICS)
on_rebalance(catch_up.reset)


def caught_up() -> bool:
    return catch_up.done


@app.task
async def follow_catch_up() -> None:
    """Advance `catch_up` every half second (a round closes at the earliest one commit interval later)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    await admin.start()
    try:
        while True:
            try:
                await catch_up.advance(consumer, admin)
            except Exception as exc:  # a broker hiccup: try again at the next step
                log.warning("catch-up check failed (%s: %s); retrying", type(exc).__name__, exc)
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
        await consumer.stop()
