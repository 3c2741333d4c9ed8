"""Where events triggered through the HTTP API go: `chinook.deltas.in`, for the worker to sequence."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from api.bodies import json_depth

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Trigger:
    channel: str
    event: str
    data: Any
    socket_id: str | None = None

    def record_value(self, ts_ms: int | None = None) -> bytes:
        value: dict[str, Any] = {
            "channel": self.channel,
            "event": self.event,
            "data": self.data,
            "ts_ms": int(time.time() * 1000) if ts_ms is None else ts_ms,
        }
        if self.socket_id is not None:
            value["socket_id"] = self.socket_id
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def decode_event_data(data: str, max_depth: int = 32) -> Any:
    """Pusher HTTP API ``data`` is a string, usually JSON: keep the decoded value, else the string.

    JSON nested deeper than `max_depth` is kept as the string it came as.
    """
    if json_depth(data) > max_depth:
        return data
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return data


class SinkUnavailable(RuntimeError):
    pass


class TriggerSink(Protocol):
    async def send(self, triggers: Sequence[Trigger]) -> None: ...


class MemorySink:
    """Collects triggers (unit tests)."""

    def __init__(self) -> None:
        self.sent: list[Trigger] = []

    async def send(self, triggers: Sequence[Trigger]) -> None:
        self.sent.extend(triggers)


class KafkaTriggerSink:
    """Produces each trigger to the triggers topic, keyed by channel; waits for the broker's ack."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._producer: Any = None

    async def _ensure(self) -> Any:
        if self._producer is None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                client_id="chinook-pulse-edge",
            )
            try:
                await producer.start()
            except Exception as exc:
                await producer.stop()
                raise SinkUnavailable(f"Kafka is not reachable: {type(exc).__name__}") from exc
            self._producer = producer
        return self._producer

    async def send(self, triggers: Sequence[Trigger]) -> None:
        producer = await self._ensure()
        try:
            futures = [await producer.send(self.topic, t.record_value(), key=t.channel.encode()) for t in triggers]
            for future in futures:
                await future
        except Exception as exc:
            log.warning("producing to %s failed: %s", self.topic, exc)
            raise SinkUnavailable(f"producing to {self.topic} failed") from exc

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
