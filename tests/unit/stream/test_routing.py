"""Stage 1 re-keys invoice and line changes by invoice id, with their change positions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from schemas.events import ChangeEvent, Op, SourceInfo
from schemas.records import Invoice, InvoiceLine
from stream.routing import invoice_messages

SOURCE = SourceInfo(lsn=200, commit_lsn=100, tx_id=7, ts_ms=0, snapshot=False)


def line(invoice_id: int, quantity: int = 1) -> InvoiceLine:
    return InvoiceLine(5, invoice_id, 3, Decimal("0.99"), quantity)


def test_a_line_moved_to_another_invoice_leaves_the_old_one() -> None:
    change = ChangeEvent(Op.UPDATE, "invoice_line", line(1), line(2), (("invoice_line_id", 5),), SOURCE, 0)
    messages = invoice_messages(change)
    assert [(invoice_id, m["row"]) for invoice_id, m in messages] == [(1, None), (2, [3, "0.99", 1])]
    assert all(m["pos"] == [100, 200, 2] and m["line"] == 5 for _, m in messages)


def test_a_deleted_line_is_routed_to_its_invoice_as_a_retraction() -> None:
    change = ChangeEvent(Op.DELETE, "invoice_line", line(4), None, (("invoice_line_id", 5),), SOURCE, 0)
    assert invoice_messages(change) == [(4, {"k": "l", "line": 5, "pos": [100, 200, 0], "row": None})]


def test_an_invoice_carries_its_row_money_as_a_string_and_its_op() -> None:
    when = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    inv = Invoice(9, 2, when, "Norway", Decimal("12.30"))
    [(invoice_id, message)] = invoice_messages(ChangeEvent(Op.CREATE, "invoice", None, inv, (), SOURCE, 0))
    assert invoice_id == 9
    assert message == {"k": "i", "op": "c", "pos": [100, 200, 1], "row": [2, when.isoformat(), "Norway", "12.30"]}
