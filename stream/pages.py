"""The worker's own HTTP view of the live state (Faust web, 127.0.0.1:WORKER_WEB_PORT).

The merger (the worker that owns partition 0) holds the whole store's numbers and answers; every
other worker answers 404 `{"owner": false}`, so a router (the edge's query API) or a test can ask
every worker and take the answer of the one that has it. 503 while the merged view is incomplete.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from faust.web import View

from stream import sink
from stream.app import app, settings
from stream.merger import merger
from stream.reference import reference, reference_ready
from tables import views
from tables.day_rows import PARTS, DayBreakdown
from tables.merged import MergedView

MAX_LATEST = 1000


def _not_ready(web: Any) -> Any:
    return web.json({"error": "state is being restored; try again"}, status=503)


def _view(web: Any) -> tuple[MergedView | None, Any]:
    """The merged view, or the answer to give instead (404 not the merger, 503 not complete yet)."""
    if not merger.active:
        return None, web.json({"owner": False}, status=404)
    view = merger.ready_view()
    if view is None or not reference_ready.is_set():
        return None, _not_ready(web)
    return view, None


@app.page("/pulse/days/{day}/")
async def day_view(web: Any, request: Any, day: str) -> Any:
    """Sales and popular tracks of one day, with per-minute sums, if this worker owns the day."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return web.json({"error": f"not an ISO date: {day!r}"}, status=400)
    view, refusal = _view(web)
    if view is None:
        return refusal
    sales = view.day(when)
    minutes = {} if sales is None else sales.by_minute
    return web.json(
        {
            "owner": True,
            "sales": views.sales_updated(when, sales, reference),
            "tracks": views.popular_tracks_updated(when, sales, reference),
            "minutes": {
                str(m): {"total": views.money(s.total), "invoice_count": s.invoice_count}
                for m, s in sorted(minutes.items())
            },
        }
    )


@app.page("/pulse/days/")
async def days_view(web: Any, request: Any) -> Any:
    """The days that have sales."""
    view, refusal = _view(web)
    if view is None:
        return refusal
    return web.json({"days": [d.isoformat() for d in view.all_days()]})


@app.page("/pulse/latest/")
async def latest_view(web: Any, request: Any) -> Any:
    view, refusal = _view(web)
    if view is None:
        return refusal
    try:
        n = min(MAX_LATEST, max(0, int(request.query.get("n", views.LATEST_INVOICES))))
    except ValueError:
        return web.json({"error": "n must be an integer"}, status=400)
    return web.json({"owner": True, "latest": [views.invoice_summary(f, reference) for f in view.latest.newest(n)]})


@app.page("/pulse/windows/")
async def windows_view(web: Any, request: Any) -> Any:
    """Per-minute, per-country and per-track sums of the days in [from, to] (ISO dates, inclusive).

    Answers with the partitions its view covers (all of them), so a router asking every worker
    knows whether the answers together cover every day.
    """
    try:
        first = date.fromisoformat(request.query["from"])
        last = date.fromisoformat(request.query["to"])
    except (KeyError, ValueError):
        return web.json({"error": "from and to must be ISO dates"}, status=400)
    parts = frozenset(request.query.get("parts", ",".join(PARTS)).split(",")) & PARTS
    view, refusal = _view(web)
    if view is None:
        return refusal
    days = {
        d.isoformat(): DayBreakdown.from_sales(d, view.day(d), reference).to_json(parts)
        for d in view.all_days()
        if first <= d <= last
    }
    return web.json(
        {
            "partitions": sorted(view.complete),
            "partitions_total": settings.topic_partitions,
            "timezone": settings.pulse_timezone,
            "days": days,
        }
    )


@app.page("/pulse/users/")
async def users_view(web: Any, request: Any) -> Any:
    """The active-users count now."""
    view, refusal = _view(web)
    if view is None:
        return refusal
    return web.json({"owner": True, "users": views.active_users_updated(view.active_users(), datetime.now(UTC))})


@app.page("/pulse/sink/")
class SinkView(View):
    """GET: the SQL sink's counters; POST: write every owned day again (a resync)."""

    async def get(self, request: Any) -> Any:
        return self.json(sink.status())

    async def post(self, request: Any) -> Any:
        sink.request_resync()
        return self.json(sink.status())
