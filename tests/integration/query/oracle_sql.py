"""SQL on the source for the query API's tables: every window, key and rank, rendered as the API renders them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from tables.views import iso, money

UNITS = {"minute": "minute", "hour": "hour", "day": "day"}


def _local(tz: str) -> str:
    return f"((i.invoice_date AT TIME ZONE 'UTC') AT TIME ZONE '{tz}')"


def _start(unit: str, tz: str) -> str:
    return f"(date_trunc('{unit}', {_local(tz)}) AT TIME ZONE '{tz}')"


def _end(unit: str, tz: str) -> str:
    return f"((date_trunc('{unit}', {_local(tz)}) + interval '1 {unit}') AT TIME ZONE '{tz}')"


def sales(conn: Connection, window: str, start: datetime, end: datetime, tz: str) -> list[dict[str, Any]]:
    unit = UNITS[window]
    rows = conn.execute(
        text(
            f"SELECT {_start(unit, tz)} AS ws, {_end(unit, tz)} AS we, SUM(i.total), COUNT(*) FROM invoice i"
            f" GROUP BY 1, 2 HAVING {_start(unit, tz)} >= :s AND {_start(unit, tz)} < :e ORDER BY 1"
        ),
        {"s": start, "e": end},
    )
    return [
        {"window_start": iso(ws), "window_end": iso(we), "total": money(t), "invoice_count": n} for ws, we, t, n in rows
    ]


def by_country(conn: Connection, start: datetime, end: datetime, tz: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            f"SELECT {_start('day', tz)}, {_end('day', tz)}, COALESCE(i.billing_country, 'Unknown') AS c,"
            f" SUM(i.total) AS t, COUNT(*) FROM invoice i GROUP BY 1, 2, 3"
            f" HAVING {_start('day', tz)} >= :s AND {_start('day', tz)} < :e ORDER BY 1, t DESC, c"
        ),
        {"s": start, "e": end},
    )
    return [
        {"window_start": iso(ws), "window_end": iso(we), "country": c, "total": money(t), "invoice_count": n}
        for ws, we, c, t, n in rows
    ]


def by_genre(conn: Connection, start: datetime, end: datetime, tz: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            f"SELECT {_start('day', tz)}, {_end('day', tz)}, COALESCE(g.name, 'Unknown') AS genre,"
            f" SUM(l.unit_price * l.quantity) AS t FROM invoice_line l JOIN invoice i ON i.invoice_id = l.invoice_id"
            f" LEFT JOIN track tr ON tr.track_id = l.track_id LEFT JOIN genre g ON g.genre_id = tr.genre_id"
            f" GROUP BY 1, 2, 3 HAVING SUM(l.unit_price * l.quantity) <> 0"
            f" AND {_start('day', tz)} >= :s AND {_start('day', tz)} < :e ORDER BY 1, t DESC, genre"
        ),
        {"s": start, "e": end},
    )
    return [{"window_start": iso(ws), "window_end": iso(we), "genre": g, "total": money(t)} for ws, we, g, t in rows]


def popular_tracks(conn: Connection, start: datetime, end: datetime, tz: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            f"SELECT ws, we, row_number() OVER (PARTITION BY ws ORDER BY u DESC, tid) AS rank, tid, name, artist,"
            f" genre, u, r FROM (SELECT {_start('day', tz)} AS ws, {_end('day', tz)} AS we, l.track_id AS tid,"
            f" COALESCE(tr.name, 'Unknown') AS name, COALESCE(ar.name, 'Unknown') AS artist,"
            f" COALESCE(g.name, 'Unknown') AS genre, SUM(l.quantity) AS u, SUM(l.unit_price * l.quantity) AS r"
            f" FROM invoice_line l JOIN invoice i ON i.invoice_id = l.invoice_id"
            f" LEFT JOIN track tr ON tr.track_id = l.track_id LEFT JOIN genre g ON g.genre_id = tr.genre_id"
            f" LEFT JOIN album al ON al.album_id = tr.album_id LEFT JOIN artist ar ON ar.artist_id = al.artist_id"
            f" GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(l.quantity) > 0) x"
            f" WHERE ws >= :s AND ws < :e ORDER BY ws, rank"
        ),
        {"s": start, "e": end},
    )
    return [
        {
            "window_start": iso(ws),
            "window_end": iso(we),
            "rank": rank,
            "track_id": tid,
            "name": name,
            "artist": artist,
            "genre": genre,
            "units": int(u),
            "revenue": money(r),
        }
        for ws, we, rank, tid, name, artist, genre, u, r in rows
    ]


def table(conn: Connection, name: str, window: str, start: datetime, end: datetime, tz: str) -> list[dict[str, Any]]:
    if name == "sales":
        return sales(conn, window, start, end, tz)
    return {"sales_by_country": by_country, "sales_by_genre": by_genre, "popular_tracks": popular_tracks}[name](
        conn, start, end, tz
    )
