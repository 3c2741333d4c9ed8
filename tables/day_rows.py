"""One day's numbers broken down into window rows: the shape shared by the query API and the SQL sink.

A worker builds a `DayBreakdown` from its live `DaySales` (and reference data for names); the
edge rebuilds it from the worker's JSON; both turn it into rows of minute, hour and day windows,
per country, per genre and per track. Windows are local wall-clock windows of the report time
zone, with their bounds as aware UTC datetimes. Only windows with at least one invoice exist
(a window whose last invoice left it is gone, not zero).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from tables.contributions import ZERO
from tables.day_sales import DaySales
from tables.reference import ReferenceData
from tables.windows import day_bounds, zone


@dataclass(frozen=True, slots=True)
class TrackLine:
    units: int
    revenue: Decimal
    name: str
    artist: str
    genre: str


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # aware UTC
    end: datetime  # aware UTC, exclusive


def _wall(day: date, minute_of_day: int, tz: str) -> datetime:
    local = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60), tzinfo=zone(tz))
    return local.astimezone(UTC)


#: Windows are pure functions of their arguments (and frozen): a day's rows are rendered again at
#: every sink flush and query, so each minute's bounds are worked out once.
@lru_cache(maxsize=16_384)
def minute_window(day: date, minute_of_day: int, tz: str) -> Window:
    start = _wall(day, minute_of_day, tz)
    end = day_bounds(day, tz)[1] if minute_of_day == 1439 else _wall(day, minute_of_day + 1, tz)
    return Window(start, end)


@lru_cache(maxsize=4096)
def hour_window(day: date, hour: int, tz: str) -> Window:
    start = _wall(day, hour * 60, tz)
    end = day_bounds(day, tz)[1] if hour == 23 else _wall(day, (hour + 1) * 60, tz)
    return Window(start, end)


@lru_cache(maxsize=1024)
def day_window(day: date, tz: str) -> Window:
    return Window(*day_bounds(day, tz))


PARTS = frozenset({"minutes", "countries", "tracks"})


@dataclass(slots=True)
class DayBreakdown:
    """A day's sums per minute and per country, and its per-track sales with display names."""

    day: date
    minutes: dict[int, tuple[Decimal, int]] = field(default_factory=dict)
    countries: dict[str, tuple[Decimal, int]] = field(default_factory=dict)
    tracks: dict[int, TrackLine] = field(default_factory=dict)

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_sales(cls, day: date, sales: DaySales | None, ref: ReferenceData) -> DayBreakdown:
        if sales is None:
            return cls(day)
        return cls(
            day=day,
            minutes={m: (s.total, s.invoice_count) for m, s in sales.by_minute.items() if s.invoice_count},
            countries={c: (s.total, s.invoice_count) for c, s in sales.by_country.items() if s.invoice_count},
            tracks={
                t: TrackLine(s.units, s.revenue, ref.track_name(t), ref.artist_of_track(t), ref.genre_of_track(t))
                for t, s in sales.by_track.items()
            },
        )

    def to_json(self, parts: frozenset[str] = PARTS) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "minutes" in parts:
            out["minutes"] = {str(m): [str(t), n] for m, (t, n) in sorted(self.minutes.items())}
        if "countries" in parts:
            out["countries"] = {c: [str(t), n] for c, (t, n) in sorted(self.countries.items())}
        if "tracks" in parts:
            out["tracks"] = {
                str(t): [x.units, str(x.revenue), x.name, x.artist, x.genre] for t, x in sorted(self.tracks.items())
            }
        return out

    @classmethod
    def from_json(cls, day: date, data: dict[str, Any]) -> DayBreakdown:
        return cls(
            day=day,
            minutes={int(m): (Decimal(t), int(n)) for m, (t, n) in data.get("minutes", {}).items()},
            countries={c: (Decimal(t), int(n)) for c, (t, n) in data.get("countries", {}).items()},
            tracks={
                int(t): TrackLine(int(u), Decimal(r), name, artist, genre)
                for t, (u, r, name, artist, genre) in data.get("tracks", {}).items()
            },
        )

    @property
    def empty(self) -> bool:
        return not self.minutes

    # -- rows -----------------------------------------------------------------------------
    def minute_rows(self, tz: str) -> list[dict[str, Any]]:
        return [_sales_row(minute_window(self.day, m, tz), t, n) for m, (t, n) in sorted(self.minutes.items())]

    def hour_rows(self, tz: str) -> list[dict[str, Any]]:
        hours: dict[int, tuple[Decimal, int]] = {}
        for m, (t, n) in self.minutes.items():
            total, count = hours.get(m // 60, (ZERO, 0))
            hours[m // 60] = (total + t, count + n)
        return [_sales_row(hour_window(self.day, h, tz), t, n) for h, (t, n) in sorted(hours.items()) if n]

    def day_rows(self, tz: str) -> list[dict[str, Any]]:
        count = sum(n for _, n in self.minutes.values())
        if not count:
            return []
        total = sum((t for t, _ in self.minutes.values()), ZERO)
        return [_sales_row(day_window(self.day, tz), total, count)]

    def country_rows(self, tz: str) -> list[dict[str, Any]]:
        """Countries by total (descending), then name."""
        w = day_window(self.day, tz)
        ranked = sorted(self.countries.items(), key=lambda item: (-item[1][0], item[0]))
        return [
            {"window_start": w.start, "window_end": w.end, "country": c, "total": t, "invoice_count": n}
            for c, (t, n) in ranked
            if n
        ]

    def genre_rows(self, tz: str) -> list[dict[str, Any]]:
        """Genres by revenue (descending), then name; genres whose revenue is zero are left out."""
        w = day_window(self.day, tz)
        by_genre: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in self.tracks.values():
            by_genre[line.genre] += line.revenue
        ranked = sorted(((g, t) for g, t in by_genre.items() if t != 0), key=lambda item: (-item[1], item[0]))
        return [{"window_start": w.start, "window_end": w.end, "genre": g, "total": t} for g, t in ranked]

    def sold_track_rows(self, tz: str) -> list[dict[str, Any]]:
        """Every track sold (units > 0), unranked (the SQL sink's rows: its view ranks them)."""
        w = day_window(self.day, tz)
        return [
            {
                "window_start": w.start,
                "window_end": w.end,
                "track_id": t,
                "name": x.name,
                "artist": x.artist,
                "genre": x.genre,
                "units": x.units,
                "revenue": x.revenue,
            }
            for t, x in self.tracks.items()
            if x.units > 0
        ]

    def track_rows(self, tz: str) -> list[dict[str, Any]]:
        """Every track sold (units > 0), ranked by units (descending), then track id, as the dashboard ranks."""
        ranked = sorted(self.sold_track_rows(tz), key=lambda row: (-row["units"], row["track_id"]))
        return [
            {"window_start": row["window_start"], "window_end": row["window_end"], "rank": rank, **row}
            for rank, row in enumerate(ranked, start=1)
        ]


def _sales_row(w: Window, total: Decimal, count: int) -> dict[str, Any]:
    return {"window_start": w.start, "window_end": w.end, "total": total, "invoice_count": count}


def local_days(start: datetime, end: datetime, tz: str) -> tuple[date, date]:
    """The first and last local day touched by the instants [start, end) (end > start, both aware)."""
    first = start.astimezone(zone(tz)).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone(tz)).date()
    return first, last
