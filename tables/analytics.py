"""SQLAlchemy metadata of the `analytics` schema: the windowed tables the SQL sink keeps up to date.

The schema name is a parameter (`analytics` in production; tests use one of their own). Every
table carries its window's bounds (`window_start` inclusive, `window_end` exclusive, timestamptz),
money as `numeric(12,2)`, `closed` (the window had ended when the row was last written) and
`updated_at` (when its values last changed). See docs/analytics.md.

A track's rank is not stored: one sale moves every track it overtakes, so a stored rank rewrote
most of a busy day's rows at every flush. `popular_tracks_day` is a view that ranks the stored
`popular_tracks_day_sales` rows when read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, Numeric, Table, Text, func, text
from sqlalchemy.engine import Connection

MONEY = Numeric(12, 2)
DEFAULT_SCHEMA = "analytics"
TRACKS_TABLE = "popular_tracks_day_sales"  # stored rows, unranked
TRACKS_VIEW = "popular_tracks_day"  # the same rows, ranked per day


def _window_columns() -> list[Column[object]]:
    return [
        Column("window_start", DateTime(timezone=True), primary_key=True),
        Column("window_end", DateTime(timezone=True), nullable=False),
    ]


def _bookkeeping() -> list[Column[object]]:
    return [
        Column("closed", Boolean, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def _sales(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        *_window_columns(),
        Column("total", MONEY, nullable=False),
        Column("invoice_count", Integer, nullable=False),
        *_bookkeeping(),
    )


@dataclass(frozen=True, slots=True)
class AnalyticsTables:
    metadata: MetaData
    sales_minute: Table
    sales_hour: Table
    sales_day: Table
    sales_day_by_country: Table
    sales_day_by_genre: Table
    popular_tracks_day_sales: Table  # unranked; read ranked through the view TRACKS_VIEW

    @property
    def schema(self) -> str:
        schema = self.metadata.schema
        assert schema is not None
        return schema

    def all(self) -> tuple[Table, ...]:
        return (
            self.sales_minute,
            self.sales_hour,
            self.sales_day,
            self.sales_day_by_country,
            self.sales_day_by_genre,
            self.popular_tracks_day_sales,
        )


def analytics_tables(schema: str = DEFAULT_SCHEMA) -> AnalyticsTables:
    metadata = MetaData(schema=schema)
    return AnalyticsTables(
        metadata=metadata,
        sales_minute=_sales("sales_minute", metadata),
        sales_hour=_sales("sales_hour", metadata),
        sales_day=_sales("sales_day", metadata),
        sales_day_by_country=Table(
            "sales_day_by_country",
            metadata,
            *_window_columns(),
            Column("country", Text, primary_key=True),
            Column("total", MONEY, nullable=False),
            Column("invoice_count", Integer, nullable=False),
            *_bookkeeping(),
        ),
        sales_day_by_genre=Table(
            "sales_day_by_genre",
            metadata,
            *_window_columns(),
            Column("genre", Text, primary_key=True),
            Column("total", MONEY, nullable=False),
            *_bookkeeping(),
        ),
        popular_tracks_day_sales=Table(
            TRACKS_TABLE,
            metadata,
            *_window_columns(),
            Column("track_id", Integer, primary_key=True),
            Column("name", Text, nullable=False),
            Column("artist", Text, nullable=False),
            Column("genre", Text, nullable=False),
            Column("units", Integer, nullable=False),
            Column("revenue", MONEY, nullable=False),
            *_bookkeeping(),
        ),
    )


def create_tracks_view(conn: Connection, schema: str) -> None:
    """Create (or replace) the view that ranks each day's tracks by units, then track id, as the
    dashboard ranks them; a `popular_tracks_day` table of an earlier version (it stored the rank) is
    dropped first: its rows are derived, and the sink writes every day again when it starts."""
    kind = conn.execute(
        text(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :schema AND c.relname = :name"
        ),
        {"schema": schema, "name": TRACKS_VIEW},
    ).scalar()
    if kind == "r":
        conn.execute(text(f'DROP TABLE "{schema}".{TRACKS_VIEW}'))
    conn.execute(
        text(
            f'CREATE OR REPLACE VIEW "{schema}".{TRACKS_VIEW} AS SELECT window_start, window_end, track_id,'
            " row_number() OVER (PARTITION BY window_start ORDER BY units DESC, track_id)::integer AS rank,"
            f' name, artist, genre, units, revenue, closed, updated_at FROM "{schema}".{TRACKS_TABLE}'
        )
    )
