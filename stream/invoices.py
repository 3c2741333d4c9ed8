"""Stage 2: the invoice owner keeps each invoice's row state and sends its absolute contributions.

For every change (and again for a redelivered one, which repairs anything lost in a crash) it
sends, per day the invoice ever touched, the invoice's whole contribution to that day (or None
once it left the day), versioned by the invoice's revision; and the invoice's list fact
(date, customer, total) to the owner of the newest-invoices list.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from faust.types import StreamT

from schemas import jsonio
from stream.app import app, day_contributions, invoice_changes, invoice_facts, settings
from tables.invoice_state import InvoiceRow, InvoiceState, LineRow, parse_instant

LATEST_KEY = b"latest"

invoice_state = app.Table("invoice-state", key_type=bytes, value_type=bytes)


def load_state(key: bytes) -> InvoiceState:
    raw = invoice_state.get(key)
    return InvoiceState.from_json(jsonio.loads(raw)) if raw else InvoiceState(int(key))


def apply_message(state: InvoiceState, msg: dict[str, Any]) -> bool:
    pos = tuple(msg["pos"])
    row = msg["row"]
    if msg["k"] == "i":
        invoice = None if row is None else InvoiceRow(int(row[0]), parse_instant(row[1]), row[2], Decimal(row[3]))
        return state.apply_invoice(pos, invoice, msg.get("op", ""))
    line = None if row is None else LineRow(int(row[0]), Decimal(row[1]), int(row[2]))
    return state.apply_line(int(msg["line"]), pos, line)


def fact_of(state: InvoiceState) -> list[Any] | None:
    row = state.row
    return None if row is None else [row.invoice_date.isoformat(), row.customer_id, str(row.total)]


@app.agent(invoice_changes)
async def own_invoices(stream: StreamT[bytes]) -> None:
    tz = settings.pulse_timezone
    async for event in stream.events():
        key: bytes = event.key
        state = load_state(key)
        fact_before = fact_of(state)
        changed = apply_message(state, jsonio.loads(event.value))
        contributions = {day.isoformat(): c for day, c in state.contributions(tz).items()}
        if changed:
            state.days.update(contributions)
            invoice_state[key] = jsonio.dumps(state.to_json())
        for day in sorted(state.days):
            c = contributions.get(day)
            msg = {"day": day, "id": state.invoice_id, "rev": state.rev, "c": c.to_json() if c else None}
            await day_contributions.send(key=day.encode(), value=jsonio.dumps(msg))
        fact_after = fact_of(state)
        if not changed or fact_after != fact_before:
            msg = {"id": state.invoice_id, "rev": state.rev, "op": state.row_op, "fact": fact_after}
            await invoice_facts.send(key=LATEST_KEY, value=jsonio.dumps(msg))
