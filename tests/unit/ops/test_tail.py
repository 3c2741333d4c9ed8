"""`chinook-pulse tail` renders deltas through `schemas.messages.Delta` and envelopes by their op."""

from __future__ import annotations

from ops.commands.tail import render
from schemas.messages import Delta


def test_a_delta_prints_its_channel_event_and_seq() -> None:
    value = Delta("private-admin.sales", "SalesUpdated", {"total": "1.00"}, 4, 9).encode()
    text = render("chinook.deltas", 0, 12, b"private-admin.sales", value, False, deltas=True)
    head, body = text.split("\n", 1)
    assert head.endswith("channel=private-admin.sales event=SalesUpdated seq=4 ts_ms=9")
    assert '"total": "1.00"' in body


def test_a_broken_delta_is_said_to_be_one() -> None:
    text = render("chinook.deltas", 0, 1, None, b'{"channel": "c"}', False, deltas=True)
    assert "not a delta: bad event" in text.splitlines()[0]


def test_a_debezium_envelope_prints_its_op_and_rows() -> None:
    value = b'{"schema":{},"payload":{"op":"c","source":{"table":"invoice","lsn":5,"txId":7},"after":{"invoice_id":1}}}'
    head = render("chinook.public.invoice", 0, 0, None, value, False).splitlines()[0]
    assert head.endswith("op=c table=invoice lsn=5 txId=7")
