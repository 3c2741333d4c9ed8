"""One partition's rows (invoices with their lines, users) and the sums derived from them.

An invoice and its lines arrive in the same partition (the connector keys both by invoice id), so
each partition's sums are a pure function of the rows it holds: exact and absolute. Rows are
applied by change position (a redelivered event changes nothing). `take_changes()` returns, once
per batch, the *absolute* values of every key the batch changed (day sums, minutes, countries,
tracks, invoice list facts, users) and the per-invoice events; `snapshot()` returns all of them.
The merger sets these values per partition and sums partitions; it never adds increments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tables.contributions import Contribution
from tables.day_sales import DaySales, Sums
from tables.invoice_state import InvoiceRow, InvoiceState, LineRow, Pos, parse_instant

#: A partition's record: what the merger applies (see `tables.merged`).
Record = dict[str, Any]

#: Keys of the rows table: invoices and users share one changelog.
INVOICE_PREFIX = b"i:"
USER_PREFIX = b"u:"


def fact_of(state: InvoiceState) -> list[Any] | None:
    """An invoice's list fact: [invoice_date, customer_id, total] (None: unknown or deleted)."""
    row = state.row
    return None if row is None else [row.invoice_date.isoformat(), row.customer_id, str(row.total)]


def event_name(before: list[Any] | None, after: list[Any] | None, op: str) -> str | None:
    """Which invoice event a batch's transition of one invoice publishes (None: nothing to tell)."""
    if after is None:
        return "InvoiceDeleted" if before is not None else None
    if before is None:
        return {"c": "InvoiceCreated", "r": None}.get(op, "InvoiceUpdated")
    return "InvoiceUpdated" if before != after else None


def _sums(total: Any, count: int) -> list[Any] | None:
    return None if count == 0 and total == 0 else [str(total), count]


def _of(sums: Sums | None) -> list[Any] | None:
    return None if sums is None else _sums(sums.total, sums.invoice_count)


@dataclass(slots=True)
class _Touched:
    """The keys of one day that a batch changed."""

    minutes: set[int] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    tracks: set[int] = field(default_factory=set)

    def add(self, c: Contribution) -> None:
        self.minutes.add(c.minute_of_day)
        self.countries.add(c.country or "Unknown")
        self.tracks.update(c.tracks)


@dataclass(slots=True)
class _Before:
    fact: list[Any] | None
    ops: set[str] = field(default_factory=set)


class PartitionState:
    """The rows of one partition and its per-day sums; what a batch changed since `take_changes`."""

    def __init__(self, partition: int, tz: str, first_kept: date | None = None) -> None:
        self.partition = partition
        self.tz = tz
        self.first_kept = first_kept
        self.invoices: dict[int, InvoiceState] = {}
        self.days: dict[date, DaySales] = {}
        self.users: dict[int, tuple[Pos, str | None]] = {}
        self._before: dict[int, _Before] = {}
        self._dirty_users: set[int] = set()

    # -- applying row changes (by position: stale ones change nothing) -----------------------
    def _invoice(self, invoice_id: int) -> InvoiceState:
        state = self.invoices.get(invoice_id)
        if state is None:
            state = self.invoices[invoice_id] = InvoiceState(invoice_id)
        if invoice_id not in self._before:
            self._before[invoice_id] = _Before(fact_of(state))
        return state

    def apply_invoice(self, invoice_id: int, pos: Pos, row: InvoiceRow | None, op: str) -> bool:
        state = self._invoice(invoice_id)
        if not state.apply_invoice(pos, row, op):
            return False
        self._before[invoice_id].ops.add(op)
        return True

    def apply_line(self, invoice_id: int, line_id: int, pos: Pos, line: LineRow | None) -> bool:
        return self._invoice(invoice_id).apply_line(line_id, pos, line)

    def apply_user(self, user_id: int, pos: Pos, last_activity: str | None) -> bool:
        seen = self.users.get(user_id)
        if seen is not None and pos <= seen[0]:
            return False
        self.users[user_id] = (pos, last_activity)
        self._dirty_users.add(user_id)
        return True

    # -- derived ----------------------------------------------------------------------------
    def _contributions(self, state: InvoiceState) -> dict[date, Contribution]:
        found = state.contributions(self.tz)
        if self.first_kept is None:
            return found
        return {d: c for d, c in found.items() if d >= self.first_kept}

    def _place(self, state: InvoiceState, touched: dict[date, _Touched] | None) -> None:
        """Put the invoice's current contributions into the day sums (replacing its old ones)."""
        new = self._contributions(state)
        for iso in sorted(state.days):
            day = date.fromisoformat(iso)
            sales = self.days.get(day)
            old = None if sales is None else sales.facts.get(state.invoice_id)
            if old is not None and day not in new:
                assert sales is not None
                sales.apply(state.invoice_id, None)
                if touched is not None:
                    touched.setdefault(day, _Touched()).add(old)
                if not sales.facts:
                    del self.days[day]
        for day, c in new.items():
            sales = self.days.get(day)
            if sales is None:
                sales = self.days[day] = DaySales(day)
            old = sales.facts.get(state.invoice_id)
            sales.apply(state.invoice_id, c)
            if touched is not None:
                t = touched.setdefault(day, _Touched())
                t.add(c)
                if old is not None:
                    t.add(old)
        state.days.update(d.isoformat() for d in new)

    def rebuild(self) -> None:
        """Derive every day's sums from the rows (after a restore)."""
        self.days.clear()
        for state in self.invoices.values():
            self._place(state, None)
        self._before.clear()
        self._dirty_users.clear()

    def prune(self, first_kept: date | None) -> None:
        """Forget the sums of days before `first_kept` (the retention rule); rows are kept."""
        self.first_kept = first_kept
        if first_kept is not None:
            for day in [d for d in self.days if d < first_kept]:
                del self.days[day]

    # -- what changed -------------------------------------------------------------------------
    def dirty_invoices(self) -> list[InvoiceState]:
        return [self.invoices[i] for i in self._before]

    def dirty_users(self) -> list[tuple[int, Pos, str | None]]:
        return [(u, *self.users[u]) for u in sorted(self._dirty_users)]

    def take_changes(self) -> Record | None:
        """The absolute values of everything changed since the last call, and the invoice events.

        None when nothing changed (every event was a redelivery)."""
        touched: dict[date, _Touched] = {}
        invoices: dict[str, Any] = {}
        events: list[list[Any]] = []
        for invoice_id, before in self._before.items():
            state = self.invoices[invoice_id]
            self._place(state, touched)
            after = fact_of(state)
            if after != before.fact:
                invoices[str(invoice_id)] = after
            op = "c" if before.fact is None and "c" in before.ops else state.row_op
            name = event_name(before.fact, after, op) if before.ops or after != before.fact else None
            if name is not None:
                events.append([name, invoice_id, state.rev, after if after is not None else before.fact])
        users = {str(u): self.users[u][1] for u in sorted(self._dirty_users)}
        self._before.clear()
        self._dirty_users.clear()
        days = {d.isoformat(): self._day_values(d, t) for d, t in sorted(touched.items())}
        if not (days or invoices or users or events):
            return None
        return {"p": self.partition, "days": days, "invoices": invoices, "users": users, "events": events}

    def _day_values(self, day: date, t: _Touched) -> dict[str, Any]:
        sales = self.days.get(day) or DaySales(day)
        minutes = {str(m): _of(sales.by_minute.get(m)) for m in t.minutes}
        countries = {c: _of(sales.by_country.get(c)) for c in t.countries}
        tracks = {str(k): None if (x := sales.by_track.get(k)) is None else [x.units, str(x.revenue)] for k in t.tracks}
        return {
            "sum": _sums(sales.sums.total, sales.sums.invoice_count),
            "minutes": minutes,
            "countries": countries,
            "tracks": tracks,
        }

    def snapshot(self, nonce: str, max_days: int = 200, max_invoices: int = 5000) -> Iterator[Record]:
        """The partition's whole state, in chunks small enough for one Kafka record each."""
        head: dict[str, Any] = {"p": self.partition, "snap": nonce}
        days = sorted(self.days)
        facts = [(i, f) for i, s in sorted(self.invoices.items()) if (f := fact_of(s)) is not None]
        chunks = max(1, -(-len(days) // max_days), -(-len(facts) // max_invoices))
        for n in range(chunks):
            chunk_days = days[n * max_days : (n + 1) * max_days]
            yield {
                **head,
                "first": n == 0,
                "last": n == chunks - 1,
                "days": {d.isoformat(): self._full_day(d) for d in chunk_days},
                "invoices": {str(i): f for i, f in facts[n * max_invoices : (n + 1) * max_invoices]},
                "users": {str(u): last for u, (_, last) in sorted(self.users.items())} if n == 0 else {},
                "events": [],
            }

    def _full_day(self, day: date) -> dict[str, Any]:
        sales = self.days[day]
        return {
            "sum": _sums(sales.sums.total, sales.sums.invoice_count),
            "minutes": {str(m): _sums(s.total, s.invoice_count) for m, s in sales.by_minute.items()},
            "countries": {c: _sums(s.total, s.invoice_count) for c, s in sales.by_country.items()},
            "tracks": {str(t): [s.units, str(s.revenue)] for t, s in sales.by_track.items()},
        }


# -- storage of rows in the worker's changelogged table ---------------------------------------


def invoice_key(invoice_id: int) -> bytes:
    return INVOICE_PREFIX + str(invoice_id).encode()


def user_key(user_id: int) -> bytes:
    return USER_PREFIX + str(user_id).encode()


def stored_invoice(partition: int, state: InvoiceState) -> dict[str, Any]:
    return {"p": partition, "s": state.to_json()}


def stored_user(partition: int, pos: Pos, last_activity: str | None) -> dict[str, Any]:
    return {"p": partition, "pos": list(pos), "last": last_activity}


def restore(states: dict[int, PartitionState], key: bytes, doc: dict[str, Any]) -> None:
    """Put one stored row into the state of its partition (if that partition is in `states`)."""
    part = states.get(int(doc["p"]))
    if part is None:
        return
    if key.startswith(INVOICE_PREFIX):
        state = InvoiceState.from_json(doc["s"])
        part.invoices[state.invoice_id] = state
    elif key.startswith(USER_PREFIX):
        a, b, c = doc["pos"]
        part.users[int(key[len(USER_PREFIX) :])] = ((int(a), int(b), int(c)), doc["last"])


def instant(text: str | None) -> datetime | None:
    return None if text is None else parse_instant(text)
