"""What one invoice contributes to one day's numbers, as an absolute, versioned fact.

The invoice owner (partitioned by invoice id) computes, for every day an invoice touches, the
invoice's whole contribution to that day, and sends it to the day owner with the invoice's
revision. The day owner keeps the latest revision per (day, invoice) and derives every sum from
those facts. Facts are absolute, so redelivering or recomputing one is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal("0.00")


@dataclass(slots=True)
class TrackSale:
    units: int = 0
    revenue: Decimal = ZERO


@dataclass(slots=True)
class Contribution:
    """An invoice's share of one day: its total (once), its minute, country and per-track lines."""

    total: Decimal
    minute_of_day: int
    country: str | None
    tracks: dict[int, TrackSale] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": str(self.total),
            "minute": self.minute_of_day,
            "country": self.country,
            "tracks": {str(t): [s.units, str(s.revenue)] for t, s in self.tracks.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contribution:
        return cls(
            total=Decimal(data["total"]),
            minute_of_day=int(data["minute"]),
            country=data["country"],
            tracks={int(t): TrackSale(int(u), Decimal(r)) for t, (u, r) in data["tracks"].items()},
        )
