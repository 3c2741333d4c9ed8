"""Write days' windows into the `analytics` tables: idempotent upserts, and deletes of windows gone empty.

For each day written, every table gets exactly the day's current rows: rows of that day that are
no longer there are deleted, the others are upserted with ``INSERT ... ON CONFLICT DO UPDATE``
that only touches a row whose values differ (and then sets its `updated_at`). Writing the same
day twice therefore changes nothing the second time, not even `updated_at`, which the counts
returned here show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, literal_column, or_, select, text, tuple_, union
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.schema import CreateSchema

from tables.analytics import AnalyticsTables
from tables.day_rows import DayBreakdown
from tables.windows import day_bounds


@dataclass(frozen=True, slots=True)
class WriteResult:
    days: int = 0
    upserted: int = 0  # rows inserted or changed
    deleted: int = 0  # rows of windows that became empty


def ensure_schema(engine: Engine, tables: AnalyticsTables) -> None:
    """Create the schema and its tables if missing (serialised by an advisory lock: workers race here)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"analytics:{tables.schema}"})
        conn.execute(CreateSchema(tables.schema, if_not_exists=True))
        tables.metadata.create_all(conn, checkfirst=True)


Part = tuple[Table, list[dict[str, Any]], tuple[str, ...]]


def _parts(tables: AnalyticsTables, b: DayBreakdown, tz: str) -> list[Part]:
    return [
        (tables.sales_minute, b.minute_rows(tz), ("window_start",)),
        (tables.sales_hour, b.hour_rows(tz), ("window_start",)),
        (tables.sales_day, b.day_rows(tz), ("window_start",)),
        (tables.sales_day_by_country, b.country_rows(tz), ("window_start", "country")),
        (tables.sales_day_by_genre, b.genre_rows(tz), ("window_start", "genre")),
        (tables.popular_tracks_day, b.track_rows(tz), ("window_start", "track_id")),
    ]


def _delete_others(
    conn: Connection, table: Table, bounds: tuple[datetime, datetime], keys: tuple[str, ...], rows: list[dict[str, Any]]
) -> int:
    stmt = delete(table).where(table.c.window_start >= bounds[0], table.c.window_start < bounds[1])
    if rows:
        if len(keys) == 1:
            stmt = stmt.where(table.c[keys[0]].not_in([r[keys[0]] for r in rows]))
        else:
            stmt = stmt.where(tuple_(*(table.c[k] for k in keys)).not_in([tuple(r[k] for k in keys) for r in rows]))
    return int(conn.execute(stmt).rowcount or 0)


def _upsert(conn: Connection, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> int:
    stmt = insert(table).values(rows)
    values = [name for name in rows[0] if name not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={**{name: stmt.excluded[name] for name in values}, "updated_at": func.now()},
        where=or_(*(table.c[name].is_distinct_from(stmt.excluded[name]) for name in values)),
    )
    return len(conn.execute(stmt.returning(literal_column("1"))).all())  # rows inserted or changed


def write_day(conn: Connection, tables: AnalyticsTables, day: DayBreakdown, tz: str, now: datetime) -> WriteResult:
    bounds = day_bounds(day.day, tz)
    upserted = deleted = 0
    for table, rows, keys in _parts(tables, day, tz):
        for row in rows:
            row["closed"] = row["window_end"] <= now
        deleted += _delete_others(conn, table, bounds, keys, rows)
        if rows:
            upserted += _upsert(conn, table, keys, rows)
    return WriteResult(1, upserted, deleted)


def write_days(
    engine: Engine, tables: AnalyticsTables, days: Sequence[DayBreakdown], tz: str, now: datetime
) -> WriteResult:
    """Write a batch of days in one transaction."""
    days_n = upserted = deleted = 0
    with engine.begin() as conn:
        for day in days:
            result = write_day(conn, tables, day, tz, now)
            days_n += result.days
            upserted += result.upserted
            deleted += result.deleted
    return WriteResult(days_n, upserted, deleted)


def stored_days(engine: Engine, tables: AnalyticsTables, tz: str) -> set[date]:
    """Every local day that has a row in any analytics table."""
    selects: Iterable[Any] = (
        select(func.date(func.timezone(tz, t.c.window_start)).label("day")).distinct() for t in tables.all()
    )
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(union(*selects))}
