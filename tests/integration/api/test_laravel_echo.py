"""The real Laravel Echo (npm, broadcaster "pusher") against a real edge, configured as the original
design's resources/js/echo.js: private channels with `.listen`, `.listenToAll`, presence with
`Echo.join`, user events after `signin`, a reconnect, and an invoice COMMITted in PostgreSQL.

Events are named with `broadcastAs` (``InvoiceCreated``), so Echo listens with a leading dot:
without it Echo prefixes its namespace (``App\\Events\\InvoiceCreated``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from tables.models import customer, invoice
from tests.support.edges import EdgeFactory, NodeDriver, official
from tests.support.workers import Isolation, Worker

pytestmark = pytest.mark.integration


def _values(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [v for x in data.values() for v in _values(x)]
    if isinstance(data, list):
        return [v for x in data for v in _values(x)]
    return [data]


def commit_invoice(engine: Engine, total: str) -> int:
    with engine.begin() as conn:
        customer_id = conn.execute(select(customer.c.customer_id).limit(1)).scalar_one()
        return int(
            conn.execute(
                insert(invoice)
                .values(customer_id=customer_id, invoice_date=time.strftime("%Y-%m-%d %H:%M:%S"), total=total)
                .returning(invoice.c.invoice_id)
            ).scalar_one()
        )


async def test_echo_private_listen_and_listen_to_all_get_a_committed_invoice_across_a_reconnect(
    edges: EdgeFactory, isolation: Isolation, worker: Worker, engine: Engine, echo: NodeDriver, tokens: dict[str, str]
) -> None:
    edge = await edges("a", topic=isolation.deltas_topic)
    await echo.connect("admin", edge, tokens["admin"])
    await echo.send(op="private", client="admin", channel="admin.invoices", event=".InvoiceCreated")
    await echo.send(op="listenToAll", client="admin", channel="admin.invoices")
    await echo.expect(lambda r: r.get("type") == "subscribed", within=15, what="Echo.private('admin.invoices')")

    first = commit_invoice(engine, "1.98")
    got = await echo.expect(
        lambda r: r.get("type") == "event" and first in _values(r.get("data")), within=60, what=f"invoice {first}"
    )
    assert got["channel"] == "admin.invoices" and got["event"] == ".InvoiceCreated"
    assert "email" not in str(got["data"])  # sensitive columns are never broadcast
    # listenToAll sees every event of the channel (the worker may also send InvoiceUpdated for it),
    # named as Echo names an event outside its namespace: with a leading dot.
    every = await echo.expect(
        lambda r: r.get("type") == "any_event" and r.get("event") == ".InvoiceCreated" and first in _values(r["data"]),
        within=15,
        what="listenToAll's .InvoiceCreated",
    )
    assert every["data"] == got["data"]

    # The edge goes away; a commit meanwhile is not lost: Echo (pusher-js) reconnects and resubscribes.
    edge.stop()
    await echo.expect(
        lambda r: r.get("type") == "state" and r.get("previous") == "connected", within=30, what="the disconnect"
    )
    second = commit_invoice(engine, "3.96")
    await edge.start()
    await echo.expect(
        lambda r: r.get("type") == "state" and r.get("current") == "connected", within=60, what="Echo reconnected"
    )
    await echo.expect(
        lambda r: r.get("type") == "event" and second in _values(r.get("data")),
        within=60,
        what=f"invoice {second}, committed while the edge was down",
    )


async def test_echo_join_presence_and_user_events(edges: EdgeFactory, echo: NodeDriver, tokens: dict[str, str]) -> None:
    edge = await edges()
    await echo.connect("admin", edge, tokens["admin"])
    await echo.send(op="join", client="admin", channel="dashboard")
    here = await echo.expect(lambda r: r.get("type") == "here", within=15, what="Echo.join('dashboard').here")
    assert here["members"] == [{"name": "Ada Admin"}]
    await echo.connect("viewer", edge, tokens["viewer"])
    await echo.send(op="join", client="viewer", channel="dashboard")
    seen = await echo.expect(
        lambda r: r.get("type") == "here" and r.get("client") == "viewer", within=15, what="the viewer's here"
    )
    assert sorted(m["name"] for m in seen["members"]) == ["Ada Admin", "Vic Viewer"]
    joining = await echo.expect(lambda r: r.get("type") == "joining", within=15, what="joining")
    assert joining["client"] == "admin" and joining["member"] == {"name": "Vic Viewer"}
    await echo.send(op="leave", client="viewer", channel="dashboard")
    leaving = await echo.expect(lambda r: r.get("type") == "leaving", within=15, what="leaving")
    assert leaving["member"] == {"name": "Vic Viewer"}

    await echo.send(op="signin", client="viewer")
    await echo.expect(
        lambda r: r.get("type") == "user_channel_subscribed", within=15, what="the viewer's #server-to-user channel"
    )
    sdk = official(edge)
    await asyncio.to_thread(sdk.send_to_user, "3", "Notice", {"message": "hello"})
    got = await echo.expect(lambda r: r.get("type") == "user_event", within=15, what="the user event")
    assert got["client"] == "viewer" and got["event"] == "Notice" and got["data"] == {"message": "hello"}
