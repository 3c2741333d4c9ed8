"""One day's sales, derived from the latest contribution of each invoice to that day.

`apply` replaces an invoice's contribution (retracting the old one, adding the new), so the sums
are always exactly the sum over the stored facts: rebuilding from the facts gives the same sums.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from tables.contributions import ZERO, Contribution, TrackSale


@dataclass(slots=True)
class Sums:
    total: Decimal = ZERO
    invoice_count: int = 0

    def add(self, total: Decimal, count: int) -> None:
        self.total += total
        self.invoice_count += count


@dataclass(slots=True)
class DaySales:
    day: date
    facts: dict[int, Contribution] = field(default_factory=dict)
    sums: Sums = field(default_factory=Sums)
    by_minute: defaultdict[int, Sums] = field(default_factory=lambda: defaultdict(Sums))
    by_country: defaultdict[str, Sums] = field(default_factory=lambda: defaultdict(Sums))
    by_track: defaultdict[int, TrackSale] = field(default_factory=lambda: defaultdict(TrackSale))
    #: Tracks whose sale changed since a follower (`tables.track_board`) last read them; None: no follower.
    touched: set[int] | None = None

    def apply(self, invoice_id: int, contribution: Contribution | None) -> None:
        """Set (or with None, remove) an invoice's contribution to this day."""
        old = self.facts.pop(invoice_id, None)
        if old is not None:
            self._add(old, -1)
        if contribution is not None:
            self.facts[invoice_id] = contribution
            self._add(contribution, 1)

    def _add(self, c: Contribution, sign: int) -> None:
        total = c.total if sign > 0 else -c.total
        self.sums.add(total, sign)
        self._bump(self.by_minute, c.minute_of_day, total, sign)
        self._bump(self.by_country, c.country or "Unknown", total, sign)
        for track_id, sale in c.tracks.items():
            if self.touched is not None:
                self.touched.add(track_id)
            agg = self.by_track[track_id]
            agg.units += sign * sale.units
            agg.revenue += sale.revenue if sign > 0 else -sale.revenue
            if agg.units == 0 and agg.revenue == 0:
                del self.by_track[track_id]

    @staticmethod
    def _bump(table: defaultdict[int, Sums] | defaultdict[str, Sums], key: int | str, total: Decimal, n: int) -> None:
        sums = table[key]  # type: ignore[index]
        sums.add(total, n)
        if sums.invoice_count == 0 and sums.total == 0:
            del table[key]  # type: ignore[arg-type]

    # -- windows derived from minutes ------------------------------------------------------
    def hourly(self) -> list[Sums]:
        hours = [Sums() for _ in range(24)]
        for minute, sums in self.by_minute.items():
            hours[minute // 60].add(sums.total, sums.invoice_count)
        return hours
