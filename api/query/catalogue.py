"""The tables the query API serves: their windows, key, columns and what `top` means for them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    description: str
    windows: tuple[str, ...]  # empty: the table has no window (and no from/to)
    default_window: str | None
    key: str | None  # what `key` filters on, None: no key
    top: str | None  # what `top` limits, None: not accepted
    default_top: int | None
    columns: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "windows": list(self.windows),
            "default_window": self.default_window,
            "key": self.key,
            "top": self.top,
            "default_top": self.default_top,
            "columns": list(self.columns),
        }


SALES_COLUMNS = ("window_start", "window_end", "total", "invoice_count")

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "sales",
            "Invoice totals and counts per window (windows with at least one invoice).",
            ("minute", "hour", "day"),
            "hour",
            None,
            None,
            None,
            SALES_COLUMNS,
        ),
        TableSpec(
            "sales_by_country",
            "Invoice totals and counts per day and billing country, largest first.",
            ("day",),
            "day",
            "country",
            "countries per window",
            None,
            ("window_start", "window_end", "country", "total", "invoice_count"),
        ),
        TableSpec(
            "sales_by_genre",
            "Revenue (sum of unit_price x quantity of the lines) per day and genre, largest first.",
            ("day",),
            "day",
            "genre",
            "genres per window",
            None,
            ("window_start", "window_end", "genre", "total"),
        ),
        TableSpec(
            "popular_tracks",
            "Tracks per day ranked by units sold (then track id); `key` is a track id.",
            ("day",),
            "day",
            "track",
            "tracks per window",
            10,
            ("window_start", "window_end", "rank", "track_id", "name", "artist", "genre", "units", "revenue"),
        ),
        TableSpec(
            "latest_invoices",
            "The newest invoices (by invoice date, then id), newest first.",
            (),
            None,
            None,
            "invoices",
            10,
            ("id", "total", "customer_name", "created_at"),
        ),
        TableSpec(
            "active_users",
            "Users whose last activity lies within the last five minutes, counted now.",
            (),
            None,
            None,
            None,
            None,
            ("count", "window_seconds", "as_of"),
        ),
    )
}

MAX_TOP = 1000
