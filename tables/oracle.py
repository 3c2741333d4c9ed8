"""The same numbers, computed by SQL on the source database: the oracle the stream must equal.

Every function returns data in exactly the shape of the corresponding delta's `data`
(`tables.views`), so a test can compare them with `==`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from tables.views import LATEST_INVOICES, TOP_TRACKS, iso, money


def _local(tz: str) -> str:
    # invoice_date is UTC wall time without zone: make it aware, then take it in the report zone
    return f"((i.invoice_date AT TIME ZONE 'UTC') AT TIME ZONE '{tz}')"


def sales_of_day(conn: Connection, day: date, tz: str) -> dict[str, Any]:
    local = _local(tz)
    params = {"day": day}
    total, count = conn.execute(
        text(f"SELECT COALESCE(SUM(i.total), 0), COUNT(*) FROM invoice i WHERE {local}::date = :day"), params
    ).one()
    hourly = [Decimal("0")] * 24
    for hour, amount in conn.execute(
        text(
            f"SELECT EXTRACT(HOUR FROM {local})::int, SUM(i.total) FROM invoice i WHERE {local}::date = :day GROUP BY 1"
        ),
        params,
    ):
        hourly[hour] = amount
    by_country = {
        country: money(amount)
        for country, amount in conn.execute(
            text(
                f"SELECT COALESCE(i.billing_country, 'Unknown'), SUM(i.total) FROM invoice i"
                f" WHERE {local}::date = :day GROUP BY 1 HAVING SUM(i.total) <> 0 OR COUNT(*) > 0 ORDER BY 1"
            ),
            params,
        )
    }
    by_genre = {
        genre: money(amount)
        for genre, amount in conn.execute(
            text(
                f"SELECT COALESCE(g.name, 'Unknown'), SUM(l.unit_price * l.quantity)"
                f" FROM invoice_line l JOIN invoice i ON i.invoice_id = l.invoice_id"
                f" LEFT JOIN track t ON t.track_id = l.track_id LEFT JOIN genre g ON g.genre_id = t.genre_id"
                f" WHERE {local}::date = :day GROUP BY 1 HAVING SUM(l.unit_price * l.quantity) <> 0 ORDER BY 1"
            ),
            params,
        )
    }
    return {
        "date": day.isoformat(),
        "total": money(total),
        "invoice_count": int(count),
        "hourly": [money(h) for h in hourly],
        "by_country": by_country,
        "by_genre": by_genre,
    }


def popular_tracks(conn: Connection, day: date, tz: str) -> dict[str, Any]:
    rows = conn.execute(
        text(
            f"SELECT l.track_id, t.name, COALESCE(ar.name, 'Unknown'), SUM(l.quantity), SUM(l.unit_price * l.quantity)"
            f" FROM invoice_line l JOIN invoice i ON i.invoice_id = l.invoice_id"
            f" LEFT JOIN track t ON t.track_id = l.track_id LEFT JOIN album al ON al.album_id = t.album_id"
            f" LEFT JOIN artist ar ON ar.artist_id = al.artist_id"
            f" WHERE {_local(tz)}::date = :day GROUP BY 1, 2, 3 HAVING SUM(l.quantity) > 0"
            f" ORDER BY 4 DESC, 1 ASC LIMIT :n"
        ),
        {"day": day, "n": TOP_TRACKS},
    )
    return {
        "date": day.isoformat(),
        "top": [
            {"track_id": tid, "name": name, "artist": artist, "units": int(units), "revenue": money(revenue)}
            for tid, name, artist, units, revenue in rows
        ],
    }


def latest_invoices(conn: Connection, n: int = LATEST_INVOICES) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT i.invoice_id, i.total, c.first_name || ' ' || c.last_name, i.invoice_date"
            " FROM invoice i LEFT JOIN customer c ON c.customer_id = i.customer_id"
            " ORDER BY i.invoice_date DESC, i.invoice_id DESC LIMIT :n"
        ),
        {"n": n},
    )
    return [
        {"id": iid, "total": money(total), "customer_name": name or "Unknown", "created_at": iso(when)}
        for iid, total, name, when in rows
    ]


def active_users(conn: Connection, as_of: datetime) -> int:
    return int(
        conn.execute(
            text("SELECT COUNT(*) FROM users WHERE last_activity >= :as_of - interval '5 minutes'"), {"as_of": as_of}
        ).scalar_one()
    )
