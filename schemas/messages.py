"""Messages between the worker's stages, and the public delta record.

Internal topics (`pulse.*`) carry compact JSON; every message is an absolute, versioned fact,
so redelivery is harmless. `chinook.deltas` carries `Delta` records: key = channel, value JSON
`{"channel", "event", "data", "seq", "ts_ms"}` (see docs/deltas.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas import jsonio


@dataclass(frozen=True, slots=True)
class Delta:
    channel: str
    event: str
    data: dict[str, Any]
    seq: int
    ts_ms: int
    exclude_socket_id: str | None = None
    src: tuple[int, int] | None = None  # (partition, offset) of the unsequenced input, for exactly-once stamping

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "channel": self.channel,
            "event": self.event,
            "data": self.data,
            "seq": self.seq,
            "ts_ms": self.ts_ms,
        }
        if self.exclude_socket_id is not None:
            doc["exclude_socket_id"] = self.exclude_socket_id
        if self.src is not None:
            doc["src"] = list(self.src)
        return doc

    def encode(self) -> bytes:
        return jsonio.dumps(self.to_json())

    @classmethod
    def decode(cls, raw: bytes) -> Delta:
        doc = jsonio.loads(raw)
        src = doc.get("src")
        return cls(
            channel=str(doc["channel"]),
            event=str(doc["event"]),
            data=doc["data"],
            seq=int(doc["seq"]),
            ts_ms=int(doc["ts_ms"]),
            exclude_socket_id=doc.get("exclude_socket_id"),
            src=(int(src[0]), int(src[1])) if src else None,
        )


@dataclass(frozen=True, slots=True)
class Unsequenced:
    """A delta before its `seq`: what aggregates and the edge's HTTP API send to `chinook.deltas.in`."""

    channel: str
    event: str
    data: dict[str, Any]
    ts_ms: int
    socket_id: str | None = None

    def encode(self) -> bytes:
        doc: dict[str, Any] = {"channel": self.channel, "event": self.event, "data": self.data, "ts_ms": self.ts_ms}
        if self.socket_id is not None:
            doc["socket_id"] = self.socket_id
        return jsonio.dumps(doc)

    @classmethod
    def decode(cls, raw: bytes) -> Unsequenced:
        doc = jsonio.loads(raw)
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict | list | str | int | float | None):
            raise ValueError("not an unsequenced delta object")
        return cls(
            channel=str(doc["channel"]),
            event=str(doc["event"]),
            data=doc["data"],
            ts_ms=int(doc.get("ts_ms") or 0),
            socket_id=doc.get("socket_id"),
        )
