"""The edge bus: messages every edge must see that are no channel deltas (user events, occupancy).

One Kafka topic (``EDGE_BUS_TOPIC``, one partition, so one order for all) that each edge produces
to and reads from its end, with no consumer group: a message published by any edge is handled by
every edge running at that time, the publisher included. Nothing is replayed to an edge that
starts later (a user event is delivered live or not at all, as Pusher does).

A message is a JSON object with a ``type``; `Edge` handlers are looked up by that type, and an
unknown type is skipped. `LocalBus` hands messages straight to the handlers (one edge, unit tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from api.retry import retry_forever
from api.tail import edge_consumer, follow_from_end

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


class BusUnavailable(RuntimeError):
    pass


class Bus(Protocol):
    ready: asyncio.Event

    def on(self, kind: str, handler: Handler) -> None: ...

    async def publish(self, message: dict[str, Any]) -> None: ...


class _Handlers:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def on(self, kind: str, handler: Handler) -> None:
        """Call ``handler`` with every message of type ``kind``."""
        self._handlers.setdefault(kind, []).append(handler)

    def dispatch(self, message: Any) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        for handler in self._handlers.get(kind, []) if isinstance(kind, str) else []:
            try:
                handler(message)
            except Exception:
                log.exception("bus handler for %s failed", kind)


class LocalBus(_Handlers):
    """One edge alone: publishing is handling."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = asyncio.Event()
        self.ready.set()
        self.published: list[dict[str, Any]] = []

    async def publish(self, message: dict[str, Any]) -> None:
        self.published.append(message)
        self.dispatch(json.loads(json.dumps(message)))


class KafkaBus(_Handlers):
    """The bus topic: `publish` waits for the broker's ack, `run` consumes from the end until cancelled."""

    def __init__(self, bootstrap: str, topic: str, *, retry_delay: float = 1.0) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        self.topic = topic
        self.retry_delay = retry_delay
        self.ready = asyncio.Event()
        self._producer: Any = None

    async def _ensure_topic(self) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="chinook-pulse-edge-bus")
        await admin.start()
        try:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(self.topic, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()

    async def publish(self, message: dict[str, Any]) -> None:
        if self._producer is None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True, client_id="chinook-pulse-edge"
            )
            try:
                await producer.start()
            except Exception as exc:
                await producer.stop()
                raise BusUnavailable(f"Kafka is not reachable: {type(exc).__name__}") from exc
            self._producer = producer
        value = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            await self._producer.send_and_wait(self.topic, value)
        except Exception as exc:
            log.warning("producing to %s failed: %s", self.topic, exc)
            raise BusUnavailable(f"producing to {self.topic} failed") from exc

    async def run(self) -> None:
        """Consume until cancelled; after a failure, start again from the end."""
        await retry_forever(self._run_once, name="bus consumer", delay=self.retry_delay)

    async def _run_once(self) -> None:
        await self._ensure_topic()
        consumer = edge_consumer(self.bootstrap)
        await consumer.start()
        try:
            await follow_from_end(consumer, self.topic, self.retry_delay)
            self.ready.set()
            log.info("edge bus %s: reading from its end", self.topic)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                for records in batches.values():
                    for record in records:
                        try:
                            message = json.loads(record.value) if record.value else None
                        except ValueError:
                            log.warning("skipping a bus record that is not JSON")
                            continue
                        self.dispatch(message)
        finally:
            await consumer.stop()

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
