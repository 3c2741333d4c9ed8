"""End to end: PostgreSQL -> Debezium -> a real worker (with its sequencer) -> real edges -> clients.

Each test runs its own worker with isolated state and topics (see tests/support/workers.py);
the edges consume that worker's deltas topic and send HTTP-API triggers to its `.in` topic.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from tables.models import customer, invoice
from tests.support.edges import EdgeFactory, NodeDriver, official, raw_client
from tests.support.workers import Isolation, Worker

pytestmark = pytest.mark.integration


async def test_trigger_through_one_edge_reaches_subscribers_of_both(
    edges: EdgeFactory, isolation: Isolation, worker: Worker
) -> None:
    a = await edges("a", topic=isolation.deltas_topic, triggers_topic=isolation.deltas_topic + ".in")
    b = await edges("b", topic=isolation.deltas_topic, triggers_topic=isolation.deltas_topic + ".in")
    channel = f"public-e2e-{time.time_ns()}"
    async with raw_client(a) as on_a, raw_client(b) as on_b:
        await on_a.subscribe(channel)
        await on_b.subscribe(channel)
        client = official(a)
        await asyncio.to_thread(client.trigger, channel, "Hello", {"n": 1})
        for ws in (on_a, on_b):
            frame = await ws.recv(within=30, what="the triggered event, sequenced by the worker")
            assert frame["event"] == "Hello" and frame["data"]["n"] == 1 and frame["data"]["seq"] == 1


def _values(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [v for x in data.values() for v in _values(x)]
    if isinstance(data, list):
        return [v for x in data for v in _values(x)]
    return [data]


async def test_invoice_committed_in_postgresql_reaches_pusher_js(
    edges: EdgeFactory,
    isolation: Isolation,
    worker: Worker,
    engine: Engine,
    node: NodeDriver,
    tokens: dict[str, str],
) -> None:
    edge = await edges("a", topic=isolation.deltas_topic)
    await node.connect("admin", edge, tokens["admin"])
    await node.send(op="subscribe", client="admin", channel="private-admin.invoices")
    await node.expect(lambda r: r.get("type") == "subscribed", within=15, what="admin subscribed")
    with engine.begin() as conn:
        customer_id = conn.execute(select(customer.c.customer_id).limit(1)).scalar_one()
        invoice_id = conn.execute(
            insert(invoice)
            .values(customer_id=customer_id, invoice_date=time.strftime("%Y-%m-%d %H:%M:%S"), total="1.98")
            .returning(invoice.c.invoice_id)
        ).scalar_one()
    await node.expect(
        lambda r: (
            r.get("type") == "event" and r.get("event") == "InvoiceCreated" and invoice_id in _values(r.get("data"))
        ),
        within=60,
        what=f"InvoiceCreated for invoice {invoice_id}",
    )
