"""The worker's own Prometheus metrics: what the pipeline does, observed per record, never per event.

- ``pulse_commit_to_publish_seconds``: from a change's COMMIT in PostgreSQL (Debezium's
  ``source.ts_ms``) to the merger publishing what it caused. The owner stamps each partials record
  with the commit time of the oldest change it carries (``commit_ts_ms``); the merger observes one
  sample per record: when it has sent the record's invoice events, or for a record without events
  at the next state tick (``PUBLISH_INTERVAL``), when the changed state deltas go out.
- ``pulse_deltas_published_total{channel}``: deltas the sequencer sent; channels are labelled by
  `schemas.scrape.channel_label` (HTTP-API triggers may name any channel: the label set stays bounded).
- ``pulse_dead_letters_total{topic}``: records sent to the dead-letter topic, by the topic they came
  from (the worker's input topics: a bounded set).

The registry is the worker's own; `stream.metrics_page` adds Faust's and the worker's state to it at
scrape time and serves it. This module imports nothing of the worker, so every stage can use it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

from schemas.scrape import channel_label

disable_created_metrics()  # no `*_created` series: Prometheus does not need them, they double the lines
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

#: Seconds: the e2e benchmark's worker stage is tens of ms at 10 commits/s and seconds when it falls behind.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

COMMIT_TO_PUBLISH = Histogram(
    "pulse_commit_to_publish_seconds",
    "From a change's COMMIT at the source (source.ts_ms) to the merger publishing it, per partials record.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
DELTAS_PUBLISHED = Counter(
    "pulse_deltas_published_total",
    "Deltas sent to the deltas topic, by channel family.",
    ["channel"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "pulse_dead_letters_total",
    "Records sent to the dead-letter topic, by the topic they came from.",
    ["topic"],
    registry=REGISTRY,
)

#: Records whose latency waits for the next publish; past this many the oldest are not observed.
MAX_WAITING = 10_000
#: The partials record's field with the commit time (ms since the epoch) of its oldest change.
COMMIT_FIELD = "commit_ts_ms"


@lru_cache(maxsize=1024)
def _deltas_child(channel: str) -> Any:
    return DELTAS_PUBLISHED.labels(channel=channel_label(channel))


def delta_published(channel: str) -> None:
    """Count one delta sent on ``channel`` (its label child is resolved once per channel name)."""
    _deltas_child(channel).inc()


@lru_cache(maxsize=256)
def _dead_letters_child(topic: str) -> Any:
    return DEAD_LETTERS.labels(topic=topic)


def expect_dead_letters_from(topics: Iterable[str]) -> None:
    """Show ``pulse_dead_letters_total`` at 0 for each input topic before any record is dead-lettered
    (a labelled counter has no series until its first label set: dashboards would see no metric)."""
    for topic in topics:
        _dead_letters_child(topic)


def dead_lettered(topic: str) -> None:
    """Count one record of ``topic`` sent to the dead-letter topic."""
    _dead_letters_child(topic).inc()


def commit_time(record: dict[str, Any]) -> int | None:
    """The commit time a partials record carries (None for snapshots and records without one)."""
    value = record.get(COMMIT_FIELD)
    return value if type(value) is int else None


class PublishLatency:
    """The commit times of the records applied by the merger and not yet published."""

    def __init__(self, histogram: Histogram = COMMIT_TO_PUBLISH, clock: Any = time.time) -> None:
        self.histogram = histogram
        self.clock = clock
        self.with_events: list[int] = []
        self.state_only: list[int] = []

    def applied(self, record: dict[str, Any], has_events: bool) -> None:
        """A live record was applied to the merged view (its deltas are about to be published)."""
        commit = commit_time(record)
        if commit is None:
            return
        waiting = self.with_events if has_events else self.state_only
        if len(waiting) < MAX_WAITING:
            waiting.append(commit)

    def events_published(self) -> None:
        """The invoice events of every record applied so far are sent."""
        self._observe(self.with_events)

    def state_published(self) -> None:
        """The state deltas of every record applied so far are sent (those of records with events too)."""
        self._observe(self.with_events)
        self._observe(self.state_only)

    def _observe(self, waiting: list[int]) -> None:
        if not waiting:
            return
        now_ms = self.clock() * 1000.0
        for commit in waiting:
            self.histogram.observe(max(0.0, now_ms - commit) / 1000.0)
        waiting.clear()
