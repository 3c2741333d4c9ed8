"""The `data` of each delta: the new absolute state of what it describes, money as strings."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tables.active_users import WINDOW, ActiveUsers
from tables.contributions import ZERO, TrackSale
from tables.day_sales import DaySales
from tables.latest import InvoiceFact, LatestInvoices
from tables.reference import ReferenceData

TOP_TRACKS = 10
LATEST_INVOICES = 10


def money(value: Decimal) -> str:
    """Two decimal places, as a string: Decimal end to end, never float."""
    return str(value.quantize(Decimal("0.01")))


def iso(instant: datetime) -> str:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def revenue_by_genre(sold: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Revenue summed per genre over (genre, revenue) pairs."""
    by_genre: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
    for genre, revenue in sold:
        by_genre[genre] += revenue
    return dict(by_genre)


def genre_revenue(sales: DaySales, ref: ReferenceData) -> dict[str, Decimal]:
    """The day's revenue per genre, from every track sold."""
    return revenue_by_genre((ref.genre_of_track(t), sale.revenue) for t, sale in sales.by_track.items())


def sales_updated(
    day: date, sales: DaySales | None, ref: ReferenceData, by_genre: Mapping[str, Decimal] | None = None
) -> dict[str, Any]:
    """`by_genre`: the day's `genre_revenue`, when the caller keeps it (`tables.track_board`)."""
    if sales is None:
        sales = DaySales(day)
    if by_genre is None:
        by_genre = genre_revenue(sales, ref)
    return {
        "date": day.isoformat(),
        "total": money(sales.sums.total),
        "invoice_count": sales.sums.invoice_count,
        "hourly": [money(h.total) for h in sales.hourly()],
        "by_country": {k: money(v.total) for k, v in sorted(sales.by_country.items())},
        "by_genre": {k: money(v) for k, v in sorted(by_genre.items()) if v != 0},
    }


def best_sellers(sales: Iterable[tuple[int, TrackSale]], n: int = TOP_TRACKS) -> list[tuple[int, int, Decimal]]:
    """(track_id, units, revenue) of the n best sellers among `sales` by units; ties by track_id ascending."""
    ranked = heapq.nsmallest(n, sales, key=lambda item: (-item[1].units, item[0]))
    return [(t, s.units, s.revenue) for t, s in ranked if s.units > 0]


def top_tracks(sales: DaySales | None, n: int = TOP_TRACKS) -> list[tuple[int, int, Decimal]]:
    """The day's `best_sellers`."""
    return [] if sales is None else best_sellers(sales.by_track.items(), n)


def popular_tracks_updated(
    day: date, sales: DaySales | None, ref: ReferenceData, top: list[tuple[int, int, Decimal]] | None = None
) -> dict[str, Any]:
    """`top`: the day's `top_tracks`, when the caller keeps it (`tables.track_board`)."""
    return {
        "date": day.isoformat(),
        "top": [
            {
                "track_id": track_id,
                "name": ref.track_name(track_id),
                "artist": ref.artist_of_track(track_id),
                "units": units,
                "revenue": money(revenue),
            }
            for track_id, units, revenue in (top_tracks(sales) if top is None else top)
        ],
    }


_summaries: dict[tuple[InvoiceFact, str], dict[str, Any]] = {}


def invoice_summary(fact: InvoiceFact, ref: ReferenceData) -> dict[str, Any]:
    """One invoice as dashboards list it (a new dict: callers may add to it)."""
    return dict(_summary(fact, ref))


def _summary(fact: InvoiceFact, ref: ReferenceData) -> dict[str, Any]:
    """The summary of a fact and its customer's current name, remembered (read-only: shared)."""
    name = ref.customer_name(fact.customer_id)
    summary = _summaries.get((fact, name))
    if summary is None:
        if len(_summaries) >= 4096:
            _summaries.clear()
        summary = _summaries[(fact, name)] = {
            "id": fact.invoice_id,
            "total": money(fact.total),
            "customer_name": name,
            "created_at": iso(fact.invoice_date),
        }
    return summary


def latest_summaries(latest: LatestInvoices, ref: ReferenceData) -> list[dict[str, Any]]:
    """The newest `LATEST_INVOICES` invoices' summaries (shared, read-only dicts)."""
    return [_summary(f, ref) for f in latest.newest(LATEST_INVOICES)]


def invoice_event(fact: InvoiceFact, latest: LatestInvoices, ref: ReferenceData) -> dict[str, Any]:
    data = invoice_summary(fact, ref)
    data["latest"] = latest_summaries(latest, ref)
    return data


def active_users_updated(users: ActiveUsers, now: datetime) -> dict[str, Any]:
    return {"count": users.count(now), "window_seconds": int(WINDOW.total_seconds()), "as_of": iso(now)}
