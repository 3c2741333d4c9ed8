"""Write days' windows into the `analytics` tables: idempotent upserts, and deletes of windows gone empty.

For each day written, every table gets exactly the day's current rows: rows of that day that are
no longer there are deleted, the others are upserted with ``INSERT ... ON CONFLICT DO UPDATE``
that only touches a row whose values differ (and then sets its `updated_at`). Writing the same
day twice therefore changes nothing the second time, not even `updated_at`, which the counts
returned here show.

A day written before in this process (`Written`, what the last write stored) sends only the rows
that differ from it and deletes only the keys gone since: a busy day has thousands of rows and
a flush changes a few. A day without it is written whole, as above.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, literal_column, or_, select, text, tuple_, union
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.schema import CreateSchema

from tables.analytics import AnalyticsTables, create_tracks_view
from tables.day_rows import DayBreakdown
from tables.windows import day_bounds


@dataclass(frozen=True, slots=True)
class WriteResult:
    days: int = 0
    upserted: int = 0  # rows inserted or changed
    deleted: int = 0  # rows of windows that became empty
    sent: int = 0  # rows sent to be upserted (the others were unchanged since the last write)

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.days + other.days, self.upserted + other.upserted, self.deleted + other.deleted, self.sent + other.sent
        )


def ensure_schema(engine: Engine, tables: AnalyticsTables) -> None:
    """Create the schema and its tables if missing (serialised by an advisory lock: workers race here)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"analytics:{tables.schema}"})
        conn.execute(CreateSchema(tables.schema, if_not_exists=True))
        tables.metadata.create_all(conn, checkfirst=True)
        create_tracks_view(conn, tables.schema)


Part = tuple[Table, list[dict[str, Any]], tuple[str, ...]]
Row = dict[str, Any]
#: What one write stored of a day: per table name, each row by its key.
Written = dict[str, dict[tuple[Any, ...], Row]]


def _parts(tables: AnalyticsTables, b: DayBreakdown, tz: str) -> list[Part]:
    return [
        (tables.sales_minute, b.minute_rows(tz), ("window_start",)),
        (tables.sales_hour, b.hour_rows(tz), ("window_start",)),
        (tables.sales_day, b.day_rows(tz), ("window_start",)),
        (tables.sales_day_by_country, b.country_rows(tz), ("window_start", "country")),
        (tables.sales_day_by_genre, b.genre_rows(tz), ("window_start", "genre")),
        (tables.popular_tracks_day_sales, b.sold_track_rows(tz), ("window_start", "track_id")),
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
    # the rows as parameters of one statement (SQLAlchemy sends them as multi-row INSERTs), so the
    # statement is compiled once per table rather than once per write with every row inlined
    stmt = insert(table)
    values = [name for name in rows[0] if name not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={**{name: stmt.excluded[name] for name in values}, "updated_at": func.now()},
        where=or_(*(table.c[name].is_distinct_from(stmt.excluded[name]) for name in values)),
    )
    return len(conn.execute(stmt.returning(literal_column("1")), rows).all())  # rows inserted or changed


def _delete_keys(conn: Connection, table: Table, keys: tuple[str, ...], gone: list[tuple[Any, ...]]) -> int:
    key = tuple_(*(table.c[k] for k in keys))
    return int(conn.execute(delete(table).where(key.in_(gone))).rowcount or 0)


def write_day(
    conn: Connection, tables: AnalyticsTables, day: DayBreakdown, tz: str, now: datetime, before: Written | None = None
) -> tuple[WriteResult, Written]:
    """Write one day (only what differs from `before`, what this process last wrote of it, when
    given); returns the counts and what the day's tables now hold."""
    bounds = day_bounds(day.day, tz)
    upserted = deleted = sent = 0
    written: Written = {}
    for table, rows, keys in _parts(tables, day, tz):
        for row in rows:
            row["closed"] = row["window_end"] <= now
        by_key = written[table.name] = {tuple(row[k] for k in keys): row for row in rows}
        if before is None:
            deleted += _delete_others(conn, table, bounds, keys, rows)
            changed = rows
        else:
            old = before.get(table.name, {})
            gone = [key for key in old if key not in by_key]
            if gone:
                deleted += _delete_keys(conn, table, keys, gone)
            changed = [row for key, row in by_key.items() if old.get(key) != row]
        if changed:
            upserted += _upsert(conn, table, keys, changed)
            sent += len(changed)
    return WriteResult(1, upserted, deleted, sent), written


def write_days(
    engine: Engine,
    tables: AnalyticsTables,
    days: Sequence[DayBreakdown],
    tz: str,
    now: datetime,
    before: Mapping[date, Written] | None = None,
) -> tuple[WriteResult, dict[date, Written]]:
    """Write a batch of days in one transaction (each against what `before` says it holds, if it
    knows the day); returns the counts and what each day's tables now hold."""
    total = WriteResult()
    written: dict[date, Written] = {}
    with engine.begin() as conn:
        for day in days:
            result, written[day.day] = write_day(conn, tables, day, tz, now, (before or {}).get(day.day))
            total += result
    return total, written


def stored_days(engine: Engine, tables: AnalyticsTables, tz: str) -> set[date]:
    """Every local day that has a row in any analytics table."""
    selects: Iterable[Any] = (
        select(func.date(func.timezone(tz, t.c.window_start)).label("day")).distinct() for t in tables.all()
    )
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(union(*selects))}
