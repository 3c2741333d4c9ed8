"""The worker's own HTTP view of its live state (Faust web, 127.0.0.1:WORKER_WEB_PORT).

A worker answers only for keys it owns (404 `{"owner": false}` otherwise), so a router (the
edge's query API) or a test can ask every worker and take the owner's answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from faust.web import View

from stream import sink
from stream.app import app, day_contributions, invoice_facts, settings, user_changes
from stream.days import cache as day_cache
from stream.invoices import LATEST_KEY
from stream.latest import cache as latest_cache
from stream.ownership import owns, state_ready
from stream.reference import reference, reference_ready
from stream.routing import USERS_KEY
from stream.users import cache as users_cache
from tables import views
from tables.day_rows import PARTS, DayBreakdown

MAX_LATEST = 1000


def _not_ready(web: Any) -> Any:
    return web.json({"error": "state is being restored; try again"}, status=503)


@app.page("/pulse/days/{day}/")
async def day_view(web: Any, request: Any, day: str) -> Any:
    """Sales and popular tracks of one day, with per-minute sums, if this worker owns the day."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return web.json({"error": f"not an ISO date: {day!r}"}, status=400)
    if not state_ready() or not reference_ready.is_set():
        return _not_ready(web)
    if not owns(day_contributions, when.isoformat().encode()):
        return web.json({"owner": False}, status=404)
    sales = day_cache.ensure().get(when)
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
    """The days this worker owns that have sales."""
    if not state_ready():
        return _not_ready(web)
    days = day_cache.ensure()
    owned = [
        d.isoformat() for d, s in sorted(days.items()) if s.facts and owns(day_contributions, d.isoformat().encode())
    ]
    return web.json({"days": owned})


@app.page("/pulse/latest/")
async def latest_view(web: Any, request: Any) -> Any:
    if not state_ready() or not reference_ready.is_set():
        return _not_ready(web)
    if not owns(invoice_facts, LATEST_KEY):
        return web.json({"owner": False}, status=404)
    try:
        n = min(MAX_LATEST, max(0, int(request.query.get("n", views.LATEST_INVOICES))))
    except ValueError:
        return web.json({"error": "n must be an integer"}, status=400)
    latest = latest_cache.ensure()
    return web.json({"owner": True, "latest": [views.invoice_summary(f, reference) for f in latest.newest(n)]})


@app.page("/pulse/windows/")
async def windows_view(web: Any, request: Any) -> Any:
    """Per-minute, per-country and per-track sums of the owned days in [from, to] (ISO dates, inclusive).

    Answers with the partitions of day-contributions this worker owns, so a router asking every
    worker knows whether the answers together cover every day.
    """
    try:
        first = date.fromisoformat(request.query["from"])
        last = date.fromisoformat(request.query["to"])
    except (KeyError, ValueError):
        return web.json({"error": "from and to must be ISO dates"}, status=400)
    parts = frozenset(request.query.get("parts", ",".join(PARTS)).split(",")) & PARTS
    if not state_ready() or not reference_ready.is_set():
        return _not_ready(web)
    topic = next(iter(day_contributions.topics))
    owned = sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)
    days = {
        d.isoformat(): DayBreakdown.from_sales(d, s, reference).to_json(parts)
        for d, s in sorted(day_cache.ensure().items())
        if first <= d <= last and s.facts and owns(day_contributions, d.isoformat().encode())
    }
    return web.json(
        {
            "partitions": owned,
            "partitions_total": settings.topic_partitions,
            "timezone": settings.pulse_timezone,
            "days": days,
        }
    )


@app.page("/pulse/users/")
async def users_view(web: Any, request: Any) -> Any:
    """The active-users count now, if this worker owns the users key."""
    if not state_ready():
        return _not_ready(web)
    if not owns(user_changes, USERS_KEY):
        return web.json({"owner": False}, status=404)
    return web.json({"owner": True, "users": views.active_users_updated(users_cache.ensure(), datetime.now(UTC))})


@app.page("/pulse/sink/")
class SinkView(View):
    """GET: the SQL sink's counters; POST: write every owned day again (a resync)."""

    async def get(self, request: Any) -> Any:
        return self.json(sink.status())

    async def post(self, request: Any) -> Any:
        sink.request_resync()
        return self.json(sink.status())
