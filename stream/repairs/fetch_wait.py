"""Faust's worker consumer, made to long-poll the broker for at most `FETCH_MAX_WAIT_MS`.

Faust builds its aiokafka consumer with `fetch_max_wait_ms=1500`. aiokafka keeps one fetch
request in flight per broker and leaves out of it the partitions whose records are still
buffered. While the busy partitions' records are being processed, the next request carries only
the quiet ones (users, control), and the broker holds it for the whole wait: the busy partitions
are fetched again only when it returns, so under steady traffic the worker reads in steps of up
to 1.5 s. A short wait bounds that pause; an idle worker polls the broker a few dozen times a
second instead (a small request each).
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

#: The longest the broker holds a fetch of the worker's consumer when it has nothing to return.
FETCH_MAX_WAIT_MS = 50

_original_create = AIOKafkaConsumerThread._create_worker_consumer


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    consumer = _original_create(self, transport)
    consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts its fetcher
    return consumer


def install() -> None:
    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer
