"""The records of `chinook.deltas` (`Delta`) and `chinook.deltas.in` (`Unsequenced`), and the events.

`Delta` is the one decoder of a `chinook.deltas` record, for the worker, the edge, the CLI and the
tests: key = channel, value JSON `{"channel", "event", "data", "seq", "ts_ms"}` plus optional
`src` and `exclude_socket_id`. `DeltaEvent` names the worker's events and `EVENT_CHANNELS` their
channels; `docs/deltas/*.schema.json` describe the same, and a unit test keeps the two in step.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from schemas import jsonio

__all__ = [
    "EVENT_CHANNELS",
    "INVOICES",
    "SALES",
    "TRACKS",
    "USERS",
    "Delta",
    "DeltaEvent",
    "InvalidDelta",
    "Unsequenced",
]


class DeltaEvent(enum.StrEnum):
    """The events the worker publishes (one JSON Schema each in `docs/deltas/`)."""

    SALES_UPDATED = "SalesUpdated"
    SALE_COMPLETED = "SaleCompleted"
    INVOICE_CREATED = "InvoiceCreated"
    INVOICE_UPDATED = "InvoiceUpdated"
    INVOICE_DELETED = "InvoiceDeleted"
    LATEST_INVOICES_UPDATED = "LatestInvoicesUpdated"
    ACTIVE_USERS_UPDATED = "ActiveUsersUpdated"
    POPULAR_TRACKS_UPDATED = "PopularTracksUpdated"


SALES = "private-admin.sales"
INVOICES = "private-admin.invoices"
USERS = "private-admin.users"
TRACKS = "private-admin.tracks"

#: The channel each worker event is published on.
EVENT_CHANNELS: MappingProxyType[DeltaEvent, str] = MappingProxyType(
    {
        DeltaEvent.SALES_UPDATED: SALES,
        DeltaEvent.SALE_COMPLETED: SALES,
        DeltaEvent.INVOICE_CREATED: INVOICES,
        DeltaEvent.INVOICE_UPDATED: INVOICES,
        DeltaEvent.INVOICE_DELETED: INVOICES,
        DeltaEvent.LATEST_INVOICES_UPDATED: INVOICES,
        DeltaEvent.ACTIVE_USERS_UPDATED: USERS,
        DeltaEvent.POPULAR_TRACKS_UPDATED: TRACKS,
    }
)


class InvalidDelta(ValueError):
    """A `chinook.deltas` record that is not a delta."""


def _src(value: Any) -> tuple[int, int] | None:
    if isinstance(value, list) and len(value) == 2:
        partition, offset = value
        if type(partition) is int and type(offset) is int:
            return partition, offset
    return None


@dataclass(frozen=True, slots=True)
class Delta:
    """One numbered event of one channel: `seq` rises by exactly one per channel, from 1."""

    channel: str
    event: str
    data: Any  # a JSON value: an object for every worker event, anything for HTTP-triggered ones
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
    def decode(cls, raw: bytes | str) -> Delta:
        """Decode one record value; `InvalidDelta` unless it has a channel, an event and a `seq >= 0`.

        A missing or non-integer `ts_ms` reads as 0, a malformed `src` or `exclude_socket_id` as None.
        """
        try:
            doc = jsonio.loads(raw)
        except ValueError as exc:
            raise InvalidDelta(f"not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise InvalidDelta("not a JSON object")
        channel, event, seq = doc.get("channel"), doc.get("event"), doc.get("seq")
        if not isinstance(channel, str) or not channel:
            raise InvalidDelta(f"bad channel {channel!r:.80}")
        if not isinstance(event, str) or not event:
            raise InvalidDelta(f"bad event {event!r:.80}")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise InvalidDelta(f"bad seq {seq!r:.40}")
        ts_ms = doc.get("ts_ms")
        exclude = doc.get("exclude_socket_id")
        src = doc.get("src")
        return cls(
            channel=channel,
            event=event,
            data=doc.get("data"),
            seq=seq,
            ts_ms=ts_ms if isinstance(ts_ms, int) and not isinstance(ts_ms, bool) else 0,
            exclude_socket_id=exclude if isinstance(exclude, str) else None,
            src=_src(src),
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
