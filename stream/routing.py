"""Stage 1: parse Debezium change events and re-key them by what they aggregate under.

Invoice and invoice-line events are re-keyed by invoice id (a line and its invoice meet in
one partition); user events by the single key "users". Anything unparseable goes to the
dead-letter topic; tombstones and truncates are skipped (truncates are logged).
"""

from __future__ import annotations

import logging
from typing import Any

from faust.types import StreamT

from schemas import jsonio
from schemas.events import ChangeEvent, Op, ParseFailure, SkipKind, Skipped, Tombstone
from schemas.records import Invoice, InvoiceLine, User
from stream.app import app, cdc_invoices, cdc_parser, cdc_users, invoice_changes, user_changes
from stream.dead_letters import dead_letter

log = logging.getLogger(__name__)

USERS_KEY = b"users"


def invoice_row(r: Invoice) -> list[Any]:
    return [r.customer_id, r.invoice_date.isoformat(), r.billing_country, str(r.total)]


def line_row(r: InvoiceLine) -> list[Any]:
    return [r.track_id, str(r.unit_price), r.quantity]


def invoice_messages(change: ChangeEvent) -> list[tuple[int, dict[str, Any]]]:
    """(invoice id, message) pairs for one invoice or invoice-line change."""
    pos = change.position
    assert pos is not None
    before, after = change.before, change.after
    if isinstance(change.record, Invoice):
        current = after if change.op != Op.DELETE and isinstance(after, Invoice) else None
        invoice_id = change.record.invoice_id
        msg = {"k": "i", "op": change.op.value, "pos": list(pos), "row": invoice_row(current) if current else None}
        return [(invoice_id, msg)]
    line = change.record
    assert isinstance(line, InvoiceLine)
    out: list[tuple[int, dict[str, Any]]] = []
    if change.op == Op.UPDATE and isinstance(before, InvoiceLine) and before.invoice_id != line.invoice_id:
        # the line moved to another invoice: it leaves the old one like a delete
        out.append((before.invoice_id, {"k": "l", "line": line.invoice_line_id, "pos": list(pos), "row": None}))
    line_now = line_row(after) if change.op != Op.DELETE and isinstance(after, InvoiceLine) else None
    out.append((line.invoice_id, {"k": "l", "line": line.invoice_line_id, "pos": list(pos), "row": line_now}))
    return out


def classify(result: object) -> str | None:
    """None when the result is a usable change; else why it is not (for logging or the DLQ)."""
    if isinstance(result, ChangeEvent):
        return None if result.position is not None else "change event without source.lsn"
    if isinstance(result, ParseFailure):
        return result.reason
    return ""


@app.agent(cdc_invoices)
async def route_invoices(stream: StreamT[bytes]) -> None:
    async for event in stream.events():
        message = event.message
        result = cdc_parser.parse(message.key, message.value, message.topic)
        if isinstance(result, ChangeEvent) and result.position is not None:
            for invoice_id, msg in invoice_messages(result):
                await invoice_changes.send(key=str(invoice_id).encode(), value=jsonio.dumps(msg))
        elif isinstance(result, ParseFailure) or isinstance(result, ChangeEvent):
            await dead_letter(event, classify(result) or "unusable change event")
        elif isinstance(result, Skipped) and result.kind == SkipKind.TRUNCATE:
            log.error("TRUNCATE of %s seen: tables cannot follow it; run `chinook-pulse rebuild`", result.table)
        elif not isinstance(result, Tombstone | Skipped):  # pragma: no cover - exhaustive
            await dead_letter(event, f"unexpected parse result {type(result).__name__}")


@app.agent(cdc_users)
async def route_users(stream: StreamT[bytes]) -> None:
    async for event in stream.events():
        message = event.message
        result = cdc_parser.parse(message.key, message.value, message.topic)
        if isinstance(result, ChangeEvent) and result.position is not None and isinstance(result.record, User):
            user = result.record
            deleted = result.op == Op.DELETE
            msg = {
                "id": user.id,
                "pos": list(result.position),
                "last": None if deleted or user.last_activity is None else user.last_activity.isoformat(),
                "deleted": deleted,
            }
            await user_changes.send(key=USERS_KEY, value=jsonio.dumps(msg))
        elif isinstance(result, ParseFailure | ChangeEvent):
            await dead_letter(event, classify(result) or "unusable change event")
        elif isinstance(result, Skipped) and result.kind == SkipKind.TRUNCATE:
            log.error("TRUNCATE of users seen: run `chinook-pulse rebuild`")
