"""The rows of one query, from the workers' live state: windows in range, key, top."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from api.query.params import Query
from api.query.workers import WorkerPool, WorkersUnavailable
from tables.day_rows import DayBreakdown, local_days

Row = dict[str, Any]


def _day_rows(b: DayBreakdown, query: Query, tz: str) -> list[Row]:
    match query.spec.name, query.window:
        case "sales", "minute":
            return b.minute_rows(tz)
        case "sales", "hour":
            return b.hour_rows(tz)
        case "sales", _:
            return b.day_rows(tz)
        case "sales_by_country", _:
            return b.country_rows(tz)
        case "sales_by_genre", _:
            return b.genre_rows(tz)
        case _:
            return b.track_rows(tz)


PARTS_NEEDED = {"sales": "minutes", "sales_by_country": "countries"}
KEY_COLUMN = {"country": "country", "genre": "genre", "track": "track_id"}


def select(rows: list[Row], query: Query) -> list[Row]:
    """Rows whose window starts in [start, end), then the key filter, else `top` per window."""
    start, end = query.start, query.end
    assert start is not None and end is not None
    rows = [r for r in rows if start <= r["window_start"] < end]
    if query.key is not None and query.spec.key is not None:
        column = KEY_COLUMN[query.spec.key]
        return [r for r in rows if str(r[column]) == query.key]
    if query.top is not None:
        return [r for _, group in groupby(rows, key=lambda r: r["window_start"]) for r in list(group)[: query.top]]
    return rows


async def fetch_rows(query: Query, pool: WorkerPool, tz: str) -> list[Row]:
    name = query.spec.name
    if name == "latest_invoices":
        body = await pool.owner("/pulse/latest/", {"n": str(query.top)})
        return [dict(item) for item in body["latest"]]
    if name == "active_users":
        body = await pool.owner("/pulse/users/")
        return [dict(body["users"])]
    assert query.start is not None and query.end is not None
    first, last = local_days(query.start, query.end, tz)
    worker_tz, days = await pool.days(first, last, PARTS_NEEDED.get(name, "tracks"))
    if worker_tz != tz:
        raise WorkersUnavailable(f"workers report in time zone {worker_tz}, this edge in {tz}: align PULSE_TIMEZONE")
    rows: list[Row] = []
    for day in sorted(days):
        rows += _day_rows(days[day], query, tz)
    return select(rows, query)
