"""The worker's own HTTP view of its live state (Faust web, 127.0.0.1:WORKER_WEB_PORT).

A worker answers only for keys it owns (404 `{"owner": false}` otherwise), so a router (the
edge's query API) or a test can ask every worker and take the owner's answer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from stream.app import app, day_contributions, invoice_facts
from stream.days import cache as day_cache
from stream.invoices import LATEST_KEY
from stream.latest import cache as latest_cache
from stream.ownership import owns, state_ready
from stream.reference import reference, reference_ready
from tables import views


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
    latest = latest_cache.ensure()
    return web.json({"owner": True, "latest": [views.invoice_summary(f, reference) for f in latest.newest(10)]})
