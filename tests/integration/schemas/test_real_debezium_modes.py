"""The parser reads what the real Debezium writes in the other converter mode too.

The stack's connector runs schemaless with string decimals (the worker's own feed is tested by
every stream test). Here a second connector on the same Kafka Connect writes the invoice tables
with `schemas.enable=true` and `decimal.handling.mode=precise` (base64 two's-complement bytes)
and `double`; the parser must give the exact rows committed in PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, delete, insert, text, update

from ops.stack.connector import render_connector
from schemas.debezium import DebeziumParser
from schemas.events import ChangeEvent, Op, ParseResult, Tombstone
from schemas.records import Invoice, InvoiceLine
from schemas.settings import Settings
from tables.models import invoice, invoice_line
from tests.support.kafka import Record, TailFactory

pytestmark = pytest.mark.integration


def wait_running(settings: Settings, name: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    state: object = None
    while time.monotonic() < deadline:
        r = httpx.get(f"{settings.connect_url}/connectors/{name}/status", timeout=5)
        if r.status_code == 200:
            state = r.json()
            tasks = state.get("tasks", [])  # type: ignore[union-attr]
            if state["connector"]["state"] == "RUNNING" and tasks and tasks[0]["state"] == "RUNNING":  # type: ignore[index]
                return
            if any(t["state"] == "FAILED" for t in tasks):
                raise AssertionError(f"connector {name} failed: {state}")
        time.sleep(0.5)
    raise AssertionError(f"connector {name} not RUNNING after {timeout_s}s: {state}")


def wait_streaming(engine: Engine, slot: str, timeout_s: float = 90) -> None:
    """RUNNING comes before the connector streams: wait until its replication slot is in use."""
    deadline = time.monotonic() + timeout_s
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            active = conn.execute(
                text("SELECT active FROM pg_replication_slots WHERE slot_name = :s"), {"s": slot}
            ).scalar()
            conn.commit()
            if active:
                return
            time.sleep(0.5)
    raise AssertionError(f"replication slot {slot} not in use after {timeout_s}s")


@pytest.fixture(params=["precise", "double"])
def extra_connector(request: pytest.FixtureRequest, settings: Settings, engine: Engine) -> Iterator[str]:
    """A temporary connector in schema mode; returns its topic prefix. Removed with its slot after."""
    mode = request.param
    suffix = uuid.uuid4().hex[:8]
    name, prefix, slot = f"it-{mode}-{suffix}", f"it{mode}{suffix}", f"it_{mode}_{suffix}"
    config = render_connector(settings)["config"]
    config.update(
        {
            "topic.prefix": prefix,
            "slot.name": slot,
            "publication.name": slot,
            "table.include.list": "public.invoice,public.invoice_line",
            "snapshot.mode": "no_data",  # stream only: we look at the changes this test makes
            "key.converter.schemas.enable": "true",
            "value.converter.schemas.enable": "true",
            "decimal.handling.mode": mode,
        }
    )
    r = httpx.put(f"{settings.connect_url}/connectors/{name}/config", json=config, timeout=30)
    assert r.status_code in (200, 201), r.text
    try:
        wait_running(settings, name)
        wait_streaming(engine, slot)
        yield prefix
    finally:
        httpx.delete(f"{settings.connect_url}/connectors/{name}", timeout=30)
        deadline = time.monotonic() + 30
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                active = conn.execute(
                    text("SELECT active FROM pg_replication_slots WHERE slot_name = :s"), {"s": slot}
                ).scalar()
                if active is None:
                    break
                if not active:
                    conn.execute(text("SELECT pg_drop_replication_slot(:s)"), {"s": slot})
                    break
                time.sleep(0.5)
            conn.execute(text(f'DROP PUBLICATION IF EXISTS "{slot}"'))
            conn.commit()


async def test_schema_mode_envelopes_parse_to_the_committed_rows(
    extra_connector: str, engine: Engine, topic_tail: TailFactory
) -> None:
    parser = DebeziumParser()
    invoice_topic = f"{extra_connector}.public.invoice"
    line_topic = f"{extra_connector}.public.invoice_line"
    when = datetime(2026, 11, 26, 12, 34, 56, 789012)
    with engine.begin() as conn:
        invoice_id = conn.execute(
            insert(invoice)
            .values(customer_id=1, invoice_date=when, billing_country="Chile", total=Decimal("-12.34"))
            .returning(invoice.c.invoice_id)
        ).scalar_one()
        line_id = conn.execute(
            insert(invoice_line)
            .values(invoice_id=invoice_id, track_id=3, unit_price=Decimal("99999999.99"), quantity=2)
            .returning(invoice_line.c.invoice_line_id)
        ).scalar_one()
    # topics appear with the first change; tails start afterwards and read from the beginning
    invoices = await topic_tail(invoice_topic, from_beginning=True)
    lines = await topic_tail(line_topic, from_beginning=True)
    with engine.begin() as conn:
        conn.execute(update(invoice).where(invoice.c.invoice_id == invoice_id).values(total=Decimal("0.01")))
        conn.execute(delete(invoice_line).where(invoice_line.c.invoice_line_id == line_id))
        conn.execute(delete(invoice).where(invoice.c.invoice_id == invoice_id))

    def parsed(record: Record, topic: str) -> ParseResult:
        return parser.parse(record.raw_key, record.raw_value, topic)

    created = await invoices.next_where(lambda r: r.value is not None, within=60, what="the invoice insert")
    event = parsed(created, invoice_topic)
    assert isinstance(event, ChangeEvent) and event.op == Op.CREATE
    assert event.after == Invoice(invoice_id, 1, when.replace(tzinfo=UTC), "Chile", Decimal("-12.34"))
    assert event.position is not None and event.source.lsn

    line = parsed(await lines.next_where(lambda r: r.value is not None, within=60, what="the line insert"), line_topic)
    assert isinstance(line, ChangeEvent)
    assert line.after == InvoiceLine(line_id, invoice_id, 3, Decimal("99999999.99"), 2)

    updated = parsed(await invoices.next_where(lambda r: r.value is not None, within=60, what="update"), invoice_topic)
    assert isinstance(updated, ChangeEvent) and updated.op == Op.UPDATE
    assert isinstance(updated.before, Invoice) and updated.before.total == Decimal("-12.34")
    assert isinstance(updated.after, Invoice) and updated.after.total == Decimal("0.01")
    assert updated.position > event.position  # type: ignore[operator]

    deleted = parsed(await invoices.next_where(lambda r: r.value is not None, within=60, what="delete"), invoice_topic)
    assert isinstance(deleted, ChangeEvent) and deleted.op == Op.DELETE and deleted.after is None
    tomb = parsed(await invoices.next_where(lambda r: True, within=60, what="tombstone"), invoice_topic)
    assert isinstance(tomb, Tombstone)
