"""Event-time buckets: the day, hour and minute an invoice falls in, in the configured time zone.

Invoice dates are UTC wall-clock times (the source column has no zone); days and hours are
taken in `PULSE_TIMEZONE` (default UTC), so a day is a local calendar day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WINDOWS = ("minute", "hour", "day")


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Bucket:
    """Where one instant falls: the local day and the minute of that day (0..1439)."""

    day: date
    minute_of_day: int

    @property
    def hour(self) -> int:
        return self.minute_of_day // 60


def bucket_of(instant: datetime, tz: str) -> Bucket:
    """The local day and minute of an aware (or naive UTC) instant."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    local = instant.astimezone(zone(tz))
    return Bucket(local.date(), local.hour * 60 + local.minute)


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a local day as aware UTC datetimes (23 or 25 hours on DST days)."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone(tz))
    end = start + timedelta(days=1)
    return start.astimezone(UTC), datetime(end.year, end.month, end.day, tzinfo=zone(tz)).astimezone(UTC)


def today(tz: str, now: datetime | None = None) -> date:
    now = now or datetime.now(UTC)
    return now.astimezone(zone(tz)).date()
