"""Stage 3b: the owner of the newest-invoices list, and the per-invoice events.

Each invoice's list fact is stored with its revision (stale ones are ignored, so a redelivered
fact publishes nothing). A new invoice publishes `InvoiceCreated` and the seed's `SaleCompleted`;
a change `InvoiceUpdated`; a delete `InvoiceDeleted`; snapshot rows publish nothing. A timer
publishes `LatestInvoicesUpdated` when the rendered list changes for any other reason (a
customer renamed, a restart).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from faust.types import StreamT

from schemas import jsonio
from stream.app import app, invoice_facts, settings
from stream.invoices import LATEST_KEY
from stream.ownership import on_rebalance, owns, state_ready
from stream.publish import INVOICES, SALES, LastPublished, publish
from stream.reference import reference, reference_ready
from tables import views
from tables.invoice_state import parse_instant
from tables.latest import InvoiceFact, LatestInvoices

latest_facts = app.Table("latest-facts", key_type=bytes, value_type=bytes)


class LatestCache:
    def __init__(self) -> None:
        self.latest = LatestInvoices()
        self.valid = False

    def invalidate(self) -> None:
        self.latest = LatestInvoices()
        self.valid = False

    def ensure(self) -> LatestInvoices:
        if not self.valid:
            self.latest = LatestInvoices()
            for key, raw in latest_facts.items():
                fact = to_fact(int(key), jsonio.loads(raw)["fact"])
                if fact is not None:
                    self.latest.put(fact, fact.invoice_id)
            self.valid = True
        return self.latest


cache = LatestCache()
published = LastPublished()
on_rebalance(cache.invalidate, published.forget)


def to_fact(invoice_id: int, fact: list[Any] | None) -> InvoiceFact | None:
    if fact is None:
        return None
    return InvoiceFact(invoice_id, parse_instant(fact[0]), int(fact[1]), Decimal(fact[2]))


def event_name(before: InvoiceFact | None, after: InvoiceFact | None, op: str) -> str | None:
    """Which invoice event a transition publishes (None: nothing to tell)."""
    if after is None:
        return "InvoiceDeleted" if before is not None else None
    if before is None:
        return {"c": "InvoiceCreated", "r": None}.get(op, "InvoiceUpdated")
    return "InvoiceUpdated" if before != after else None


@app.agent(invoice_facts)
async def own_latest(stream: StreamT[bytes]) -> None:
    await reference_ready.wait()
    async for value in stream:
        msg = jsonio.loads(value)
        key = str(msg["id"]).encode()
        stored = latest_facts.get(key)
        if stored is not None and jsonio.loads(stored)["rev"] >= msg["rev"]:
            continue
        latest_facts[key] = jsonio.dumps({"rev": msg["rev"], "fact": msg["fact"]})
        latest = cache.ensure()
        after = to_fact(int(msg["id"]), msg["fact"])
        before = latest.put(after, int(msg["id"]))
        name = event_name(before, after, msg["op"])
        if name is None:
            continue
        subject = after or before
        assert subject is not None
        data = views.invoice_event(subject, latest, reference)
        if not await publish(INVOICES, name, data):
            continue  # history read while catching up: no notification (the list is published after)
        published.remember(INVOICES, "LatestInvoicesUpdated", {"latest": data["latest"]})
        if name == "InvoiceCreated":
            await publish(SALES, "SaleCompleted", views.invoice_summary(subject, reference))


@app.timer(interval=settings.publish_interval)
async def publish_latest() -> None:
    if not state_ready() or not reference_ready.is_set() or not owns(invoice_facts, LATEST_KEY):
        return
    latest = cache.ensure()
    data = {"latest": [views.invoice_summary(f, reference) for f in latest.newest(views.LATEST_INVOICES)]}
    await published.publish_if_changed(INVOICES, "LatestInvoicesUpdated", data)
