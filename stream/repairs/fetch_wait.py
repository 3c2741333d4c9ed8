"""Faust's worker consumer, made to read in rounds of `WORKER_READ_WAIT_MS` (100 ms by default).

Faust builds its aiokafka consumer with `fetch_max_wait_ms=1500` and `fetch_min_bytes=1`. Two
things follow. aiokafka keeps one fetch request in flight per broker and leaves out of it the
partitions whose records are still buffered, so under steady traffic the next request carried only
the quiet partitions and the broker held it for 1.5 s: the worker read in steps of up to 1.5 s.
And with one byte enough, every small write of the connector came back as a fetch of its own.

The worker's cost follows the number of reads, not of changes (a read is a fetch, a hop to Faust's
consumer thread, an owner batch, its produce requests and the merger's read of its record). So the
broker holds every fetch until 16 KiB are there or the wait is over: a read every 100 ms at a
hundred orders per second (~1.4 KiB an order), one per ~16 KiB above that, at once under a backlog.
The wait only pays at low rates: where the machine is busy, a slow round makes the next one slower
(a partition whose records are still buffered skips a fetch), so at high rates reads come sooner.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from schemas.settings import get_settings

#: A fetch returns as soon as this much is there, else after the read wait.
FETCH_MIN_BYTES = 16 << 10

_original_create = AIOKafkaConsumerThread._create_worker_consumer


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    consumer = _original_create(self, transport)
    # both are read when the consumer starts its fetcher
    consumer._fetch_max_wait_ms = get_settings().worker_read_wait_ms
    consumer._fetch_min_bytes = FETCH_MIN_BYTES
    return consumer


def install() -> None:
    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer
