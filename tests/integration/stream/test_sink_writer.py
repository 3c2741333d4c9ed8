"""The SQL sink's writer on a real PostgreSQL: a day written against what was last written of it
leaves the tables exactly as writing it whole does, sending only what changed; ranks come from the view."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from stream.sink_writer import ensure_schema, write_days
from tables.analytics import AnalyticsTables, analytics_tables
from tables.day_rows import DayBreakdown, TrackLine

TZ = "UTC"
DAY = date(2024, 5, 21)
NOW = datetime(2024, 5, 21, 12, 30, tzinfo=UTC)  # minutes before 12:30 are closed


@pytest.fixture
def schema(engine: Engine) -> Iterator[str]:
    name = f"sinktest_{uuid.uuid4().hex[:8]}"
    yield name
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


def breakdown(tracks: dict[int, int], minutes: dict[int, tuple[str, int]]) -> DayBreakdown:
    return DayBreakdown(
        DAY,
        minutes={m: (Decimal(t), n) for m, (t, n) in minutes.items()},
        countries={"Norway": (sum((Decimal(t) for t, _ in minutes.values()), Decimal(0)), len(minutes))},
        tracks={t: TrackLine(u, Decimal("0.99") * u, f"T{t}", "A", "Rock") for t, u in tracks.items()},
    )


def contents(engine: Engine, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table and the ranking view, without `updated_at` (the time of the write)."""
    names = [t.name for t in analytics_tables(schema).all()] + ["popular_tracks_day"]
    out = {}
    with engine.connect() as conn:
        for name in names:
            columns = [
                c
                for (c,) in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns"
                        " WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
                    ),
                    {"s": schema, "t": name},
                )
                if c != "updated_at"
            ]
            rows = conn.execute(text(f'SELECT {", ".join(columns)} FROM "{schema}".{name} ORDER BY 1, 3'))
            out[name] = [tuple(r) for r in rows]
    return out


def write(engine: Engine, tables: AnalyticsTables, day: DayBreakdown, before: Any = None) -> Any:
    return write_days(engine, tables, [day], TZ, NOW, before)


def test_a_day_written_as_its_difference_equals_it_written_whole(engine: Engine, schema: str) -> None:
    incremental, whole = analytics_tables(schema), analytics_tables(schema + "_whole")
    try:
        ensure_schema(engine, incremental)
        ensure_schema(engine, whole)
        first = breakdown({1: 1, 2: 1, 3: 2, 4: 1}, {600: ("1.98", 1), 601: ("3.96", 2)})
        result, written = write(engine, incremental, first)
        # 4 tracks, 2 minutes, the hour, the day, the country, the genre
        assert (result.sent, result.upserted, result.deleted) == (10, 10, 0)

        # track 4 gains two units (it overtakes 1 and 2), track 2 is gone, minute 601 is gone, 720 is new
        second = breakdown({1: 1, 3: 2, 4: 3}, {600: ("1.98", 1), 720: ("2.97", 3)})
        result, written = write(engine, incremental, second, written)
        # changed: track 4, minute 720, hours 10 (601 left it) and 12, the day, the country, the genre
        assert (result.sent, result.upserted, result.deleted) == (7, 7, 2)  # deleted: track 2, minute 601

        result, _ = write(engine, incremental, second, written)
        assert (result.sent, result.upserted, result.deleted) == (0, 0, 0), "the same day again sent rows"

        write(engine, whole, first)
        result, _ = write(engine, whole, second)
        assert (result.sent, result.upserted, result.deleted) == (10, 7, 2)  # whole: all 10 rows sent
        got, want = contents(engine, schema), contents(engine, schema + "_whole")
        assert got == want
        ranked = [(row[2], row[3]) for row in got["popular_tracks_day"]]  # (track, rank)
        assert sorted(ranked, key=lambda tr: tr[1]) == [(4, 1), (3, 2), (1, 3)]
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_whole" CASCADE'))


def test_the_table_that_stored_ranks_becomes_the_ranking_view(engine: Engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(
            text(
                f'CREATE TABLE "{schema}".popular_tracks_day (window_start timestamptz, track_id int,'
                " rank int, PRIMARY KEY (window_start, track_id))"
            )
        )
        conn.execute(text(f"INSERT INTO \"{schema}\".popular_tracks_day VALUES ('2024-05-21', 1, 1)"))
    tables = analytics_tables(schema)
    ensure_schema(engine, tables)
    ensure_schema(engine, tables)  # again: the view is kept
    with engine.connect() as conn:
        kind = conn.execute(
            text(
                "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = :s AND c.relname = 'popular_tracks_day'"
            ),
            {"s": schema},
        ).scalar()
    assert kind == "v"
    write(engine, tables, breakdown({7: 2, 5: 2, 9: 5}, {600: ("8.91", 1)}))
    ranked = [(row[2], row[3]) for row in contents(engine, schema)["popular_tracks_day"]]
    assert sorted(ranked, key=lambda tr: tr[1]) == [(9, 1), (5, 2), (7, 3)]
