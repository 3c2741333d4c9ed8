"""Debezium envelopes of committed changes to `invoice`, read from `chinook.public.invoice`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update

from schemas.settings import Settings
from tables.models import customer, invoice

from .conftest import TailFactory

pytestmark = pytest.mark.integration

WAIT = 60.0  # seconds: the first event may wait for the initial snapshot of a fresh stack


def _insert_invoice(engine: Engine, total: str = "1.98") -> int:
    with engine.begin() as conn:
        customer_id = conn.execute(select(func.min(customer.c.customer_id))).scalar_one()
        invoice_id: int = conn.execute(
            insert(invoice)
            .values(
                customer_id=customer_id,
                invoice_date=datetime.now(UTC).replace(tzinfo=None),
                billing_city="Testville",
                billing_country="Testland",
                total=Decimal(total),
            )
            .returning(invoice.c.invoice_id)
        ).scalar_one()
    return invoice_id


def _delete_invoice(engine: Engine, invoice_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(delete(invoice).where(invoice.c.invoice_id == invoice_id))


async def test_insert_gives_create_envelope(engine: Engine, settings: Settings, topic_tail: TailFactory) -> None:
    tail = await topic_tail(settings.cdc_topic("invoice"))
    invoice_id = _insert_invoice(engine)
    try:
        record = await tail.next_where(
            lambda r: r.key == {"invoice_id": invoice_id}, within=WAIT, what=f"insert of invoice {invoice_id}"
        )
        envelope = record.value
        assert envelope["op"] == "c"
        assert envelope["before"] is None
        assert envelope["after"]["invoice_id"] == invoice_id
        assert envelope["after"]["total"] == "1.98"  # decimal.handling.mode=string
        assert envelope["after"]["billing_country"] == "Testland"
        assert envelope["source"]["lsn"] > 0
        assert envelope["source"]["table"] == "invoice"
        assert envelope["source"]["name"] == settings.topic_prefix
    finally:
        _delete_invoice(engine, invoice_id)


async def test_update_gives_full_before(engine: Engine, settings: Settings, topic_tail: TailFactory) -> None:
    invoice_id = _insert_invoice(engine, total="3.96")
    tail = await topic_tail(settings.cdc_topic("invoice"))
    try:
        with engine.begin() as conn:
            conn.execute(update(invoice).where(invoice.c.invoice_id == invoice_id).values(total=Decimal("5.94")))
        record = await tail.next_where(
            lambda r: r.key == {"invoice_id": invoice_id} and r.value is not None and r.value["op"] == "u",
            within=WAIT,
            what=f"update of invoice {invoice_id}",
        )
        before, after = record.value["before"], record.value["after"]
        # REPLICA IDENTITY FULL: the whole old row, not only its key.
        assert set(before) == set(after) == {c.name for c in invoice.columns}
        assert before["total"] == "3.96"
        assert before["billing_city"] == "Testville"
        assert after["total"] == "5.94"
        assert record.value["source"]["lsn"] > 0
    finally:
        _delete_invoice(engine, invoice_id)


async def test_delete_gives_d_then_tombstone(engine: Engine, settings: Settings, topic_tail: TailFactory) -> None:
    invoice_id = _insert_invoice(engine, total="0.99")
    tail = await topic_tail(settings.cdc_topic("invoice"))
    _delete_invoice(engine, invoice_id)
    key = {"invoice_id": invoice_id}
    deleted = await tail.next_where(  # the insert's own record may still arrive first: skip it
        lambda r: r.key == key and r.value is not None and r.value["op"] != "c",
        within=WAIT,
        what=f"delete of invoice {invoice_id}",
    )
    assert deleted.value["op"] == "d"
    assert deleted.value["after"] is None
    assert deleted.value["before"]["invoice_id"] == invoice_id
    assert deleted.value["before"]["total"] == "0.99"
    tombstone = await tail.next_where(lambda r: r.key == key, within=WAIT, what=f"tombstone of invoice {invoice_id}")
    assert tombstone.value is None
    assert tombstone.partition == deleted.partition
    assert tombstone.offset == deleted.offset + 1
