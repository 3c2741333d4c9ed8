"""The latest known state of one invoice and its lines: the truth the aggregates derive from.

Rows are applied only when their change-stream position is newer than what was applied before
for that row (deletes are remembered as tombstones), so a redelivered or reprocessed event
changes nothing. Lines may arrive before their invoice; they wait in the state until it comes.
Every effective change bumps `rev`, the version carried by the contributions sent downstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tables.contributions import ZERO, Contribution, TrackSale
from tables.windows import bucket_of

#: A change-stream position, compared as a tuple (see `schemas.events.Position`).
Pos = tuple[int, int, int]


@dataclass(slots=True)
class InvoiceRow:
    customer_id: int
    invoice_date: datetime  # aware, UTC
    country: str | None
    total: Decimal


@dataclass(slots=True)
class LineRow:
    track_id: int
    unit_price: Decimal
    quantity: int


@dataclass(slots=True)
class InvoiceState:
    invoice_id: int
    rev: int = 0
    row: InvoiceRow | None = None  # None: not seen yet, or deleted (see row_pos)
    row_pos: Pos | None = None
    lines: dict[int, LineRow | None] = field(default_factory=dict)  # None: deleted line
    line_pos: dict[int, Pos] = field(default_factory=dict)
    row_op: str = ""  # Debezium op of the last applied invoice-row change (c, u, d, r)
    days: set[str] = field(default_factory=set)  # every day ever contributed to (ISO dates)

    # -- applying changes ---------------------------------------------------------------
    def apply_invoice(self, pos: Pos, row: InvoiceRow | None, op: str = "") -> bool:
        """Apply an invoice create/update/read (`row`) or delete (`None`); False if stale."""
        if self.row_pos is not None and pos <= self.row_pos:
            return False
        self.row, self.row_pos, self.row_op = row, pos, op
        self.rev += 1
        return True

    def apply_line(self, line_id: int, pos: Pos, line: LineRow | None) -> bool:
        """Apply a line create/update/read or delete (`None`); False if stale."""
        seen = self.line_pos.get(line_id)
        if seen is not None and pos <= seen:
            return False
        self.lines[line_id], self.line_pos[line_id] = line, pos
        self.rev += 1
        return True

    def move_line_out(self, line_id: int, pos: Pos) -> bool:
        """A line now belongs to another invoice: remove it here (like a delete)."""
        return self.apply_line(line_id, pos, None)

    # -- derived ------------------------------------------------------------------------
    def contributions(self, tz: str) -> dict[date, Contribution]:
        """This invoice's contribution per day (empty while the invoice is unknown or deleted)."""
        if self.row is None:
            return {}
        bucket = bucket_of(self.row.invoice_date, tz)
        tracks: dict[int, TrackSale] = {}
        for line in self.lines.values():
            if line is None:
                continue
            sale = tracks.setdefault(line.track_id, TrackSale(0, ZERO))
            sale.units += line.quantity
            sale.revenue += line.unit_price * line.quantity
        return {bucket.day: Contribution(self.row.total, bucket.minute_of_day, self.row.country, tracks)}

    # -- storage --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        row = self.row
        return {
            "id": self.invoice_id,
            "rev": self.rev,
            "row": None
            if row is None
            else [row.customer_id, row.invoice_date.isoformat(), row.country, str(row.total)],
            "row_pos": self.row_pos,
            "lines": {
                str(k): None if v is None else [v.track_id, str(v.unit_price), v.quantity]
                for k, v in self.lines.items()
            },
            "line_pos": {str(k): v for k, v in self.line_pos.items()},
            "op": self.row_op,
            "days": sorted(self.days),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InvoiceState:
        row = data["row"]
        return cls(
            invoice_id=int(data["id"]),
            rev=int(data["rev"]),
            row=None if row is None else InvoiceRow(int(row[0]), parse_instant(row[1]), row[2], Decimal(row[3])),
            row_pos=None if data["row_pos"] is None else _pos(data["row_pos"]),
            lines={
                int(k): None if v is None else LineRow(int(v[0]), Decimal(v[1]), int(v[2]))
                for k, v in data["lines"].items()
            },
            line_pos={int(k): _pos(v) for k, v in data["line_pos"].items()},
            row_op=str(data.get("op", "")),
            days=set(data.get("days", ())),
        )


def _pos(value: Any) -> Pos:
    a, b, c = value
    return (int(a), int(b), int(c))


def parse_instant(text: str) -> datetime:
    """An ISO datetime; naive values are UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
