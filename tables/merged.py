"""The whole store's numbers, merged from the absolute state of every partition.

Each partition's owner sends records (`tables.partition_state`) holding the absolute value of
every key it changed; a snapshot replaces all of a partition's values. The view keeps the latest
value per (partition, key) and sums partitions when a day is first read; a day once merged moves
by the difference between a key's new and old absolute value, so a repeated or replayed record
changes nothing and the merged day always equals the sum of the partitions' values. It is
complete once every partition has sent a snapshot since the view was created.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tables.active_users import ActiveUsers
from tables.contributions import ZERO, TrackSale
from tables.day_sales import DaySales, Sums
from tables.invoice_state import parse_instant
from tables.latest import InvoiceFact, LatestInvoices


def _sums(value: list[Any]) -> tuple[Decimal, int]:
    return Decimal(value[0]), int(value[1])


@dataclass(slots=True)
class DayPart:
    """One partition's sums of one day."""

    total: Decimal = ZERO
    count: int = 0
    minutes: dict[int, tuple[Decimal, int]] = field(default_factory=dict)
    countries: dict[str, tuple[Decimal, int]] = field(default_factory=dict)
    tracks: dict[int, tuple[int, Decimal]] = field(default_factory=dict)

    def set(self, values: dict[str, Any], merged: DaySales | None = None) -> None:
        """Replace the keys `values` names; `merged` (the day over every partition) moves by the same difference."""
        s = values.get("sum")
        total, count = (ZERO, 0) if s is None else _sums(s)
        if merged is not None:
            merged.sums.add(total - self.total, count - self.count)
        self.total, self.count = total, count
        for m, v in values.get("minutes", {}).items():
            _replace(
                self.minutes, int(m), None if v is None else _sums(v), None if merged is None else merged.by_minute
            )
        for c, v in values.get("countries", {}).items():
            _replace(self.countries, c, None if v is None else _sums(v), None if merged is None else merged.by_country)
        for t, v in values.get("tracks", {}).items():
            track = int(t)
            old = self.tracks.pop(track, None)
            new = None if v is None else (int(v[0]), Decimal(v[1]))
            if new is not None:
                self.tracks[track] = new
            if merged is not None:
                if merged.touched is not None:
                    merged.touched.add(track)
                sale = merged.by_track[track]
                sale.units += (new[0] if new else 0) - (old[0] if old else 0)
                sale.revenue += (new[1] if new else ZERO) - (old[1] if old else ZERO)
                if sale.units == 0 and sale.revenue == 0:
                    del merged.by_track[track]

    @property
    def empty(self) -> bool:
        return self.count == 0 and not self.minutes and not self.tracks


def _replace(
    mine: dict[Any, tuple[Decimal, int]],
    key: Any,
    new: tuple[Decimal, int] | None,
    merged: defaultdict[Any, Sums] | None,
) -> None:
    old = mine.pop(key, None)
    if new is not None:
        mine[key] = new
    if merged is not None:
        sums = merged[key]
        sums.add((new[0] if new else ZERO) - (old[0] if old else ZERO), (new[1] if new else 0) - (old[1] if old else 0))
        if sums.invoice_count == 0 and sums.total == 0:
            del merged[key]


def to_fact(invoice_id: int, fact: list[Any]) -> InvoiceFact:
    return InvoiceFact(invoice_id, parse_instant(fact[0]), int(fact[1]), Decimal(fact[2]))


@dataclass(slots=True)
class Applied:
    """What one record changed: the days touched and the invoice events it carries."""

    days: set[date] = field(default_factory=set)
    latest_changed: bool = False
    users_changed: bool = False
    events: list[tuple[str, InvoiceFact, int]] = field(default_factory=list)  # (event, invoice, rev)


class MergedView:
    """Every partition's latest values; merged day sums, newest invoices and active users."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.days: dict[int, dict[date, DayPart]] = {p: {} for p in range(partitions)}
        self.facts: dict[int, dict[int, InvoiceFact]] = {p: {} for p in range(partitions)}
        self.users: dict[int, ActiveUsers] = {p: ActiveUsers() for p in range(partitions)}
        self.latest = LatestInvoices()
        self.complete: set[int] = set()
        self._merged: dict[date, DaySales] = {}

    @property
    def ready(self) -> bool:
        return len(self.complete) == self.partitions

    def apply(self, record: dict[str, Any]) -> Applied:
        p = int(record["p"])
        if p not in self.days:
            raise ValueError(f"partition {p} outside 0..{self.partitions - 1}")
        out = Applied()
        if record.get("snap") is not None and record.get("first"):
            reset = self._reset(p)
            for day in reset:
                self._merged.pop(day, None)  # merged again when next read
            out.days |= reset
            out.latest_changed = out.users_changed = True
        days = self.days[p]
        for iso, values in record.get("days", {}).items():
            day = date.fromisoformat(iso)
            part = days.get(day)
            if part is None:
                part = days[day] = DayPart()
            part.set(values, self._merged.get(day))  # a merged day follows each change of a part
            if part.empty:
                del days[day]
                self._merged.pop(day, None)
            out.days.add(day)
        facts = self.facts[p]
        for key, fact in record.get("invoices", {}).items():
            invoice_id = int(key)
            value = None if fact is None else to_fact(invoice_id, fact)
            if value is None:
                facts.pop(invoice_id, None)
            else:
                facts[invoice_id] = value
            self.latest.put(value, invoice_id)
            out.latest_changed = True
        for key, last in record.get("users", {}).items():
            self.users[p].put(int(key), None if last is None else parse_instant(last))
            out.users_changed = True
        for name, invoice_id, rev, fact in record.get("events", []):
            out.events.append((str(name), to_fact(int(invoice_id), fact), int(rev)))
        if record.get("snap") is not None and record.get("last"):
            self.complete.add(p)
        return out

    def _reset(self, p: int) -> set[date]:
        touched = set(self.days[p])
        self.days[p] = {}
        for invoice_id in self.facts[p]:
            self.latest.put(None, invoice_id)
        self.facts[p] = {}
        self.users[p] = ActiveUsers()
        self.complete.discard(p)
        return touched

    def forget_before(self, first_kept: date) -> None:
        """Drop every partition's days before `first_kept` (the retention rule)."""
        for days in self.days.values():
            for day in [d for d in days if d < first_kept]:
                del days[day]
        for day in [d for d in self._merged if d < first_kept]:
            del self._merged[day]

    # -- merged reads -------------------------------------------------------------------------
    def all_days(self) -> list[date]:
        return sorted({d for days in self.days.values() for d in days})

    def day(self, day: date) -> DaySales | None:
        """The day's sums over every partition (None: no sales that day)."""
        merged = self._merged.get(day)
        if merged is not None:
            return merged
        parts = [days[day] for days in self.days.values() if day in days]
        if not parts:
            return None
        merged = DaySales(day)
        for part in parts:
            merged.sums.add(part.total, part.count)
            for m, (t, n) in part.minutes.items():
                merged.by_minute[m].add(t, n)
            for c, (t, n) in part.countries.items():
                merged.by_country[c].add(t, n)
            for track, (units, revenue) in part.tracks.items():
                sale = merged.by_track[track]
                sale.units += units
                sale.revenue += revenue
        _drop_zeros(merged)
        self._merged[day] = merged
        return merged

    def active_users(self) -> ActiveUsers:
        merged = ActiveUsers()
        for users in self.users.values():
            merged.last_activity.update(users.last_activity)
        return merged

    def active_count(self, now: datetime) -> int:
        return sum(users.count(now) for users in self.users.values())


def _drop_zeros(sales: DaySales) -> None:
    for table in (sales.by_minute, sales.by_country):
        for key in [k for k, s in table.items() if s.invoice_count == 0 and s.total == 0]:
            del table[key]  # type: ignore[arg-type]
    for track in [t for t, s in sales.by_track.items() if s.units == 0 and s.revenue == 0]:
        del sales.by_track[track]


__all__ = ["Applied", "DayPart", "MergedView", "Sums", "TrackSale"]
