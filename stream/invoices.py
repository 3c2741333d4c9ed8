"""Stage 2: the invoice owner keeps each invoice's row state and sends its absolute contributions.

For every change (and again for a redelivered one, which repairs anything lost in a crash) it
sends, per day the invoice ever touched, the invoice's whole contribution to that day (or None
once it left the day), versioned by the invoice's revision; and the invoice's list fact
(date, customer, total) to the owner of the newest-invoices list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from faust.types import StreamT

from schemas import jsonio
from stream.app import app, day_contributions, invoice_changes, invoice_facts, settings
from stream.batching import BATCH_SIZE, BATCH_WINDOW_S, bytes_table, writing_for
from tables.invoice_state import InvoiceRow, InvoiceState, LineRow, parse_instant

LATEST_KEY = b"latest"

invoice_state = bytes_table("invoice-state")


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


@dataclass
class Touched:
    """One invoice touched by a batch: its state, partition, list fact before the batch, what happened."""

    state: InvoiceState
    partition: int
    fact_before: list[Any] | None
    changed: bool = False
    redelivered: bool = False
    ops: set[str] = field(default_factory=set)


@app.agent(invoice_changes)
async def own_invoices(stream: StreamT[bytes]) -> None:
    """Apply a batch of changes per invoice, then write each touched invoice's state and send its facts once."""
    tz = settings.pulse_timezone
    async for events in stream.take_events(BATCH_SIZE, within=BATCH_WINDOW_S):
        touched: dict[bytes, Touched] = {}
        for event in events:
            key: bytes = event.key
            t = touched.get(key)
            if t is None:
                state = load_state(key)
                t = touched[key] = Touched(state, event.message.partition, fact_of(state))
            msg = jsonio.loads(event.value)
            if apply_message(t.state, msg):
                t.changed = True
                if msg["k"] == "i":
                    t.ops.add(msg.get("op", ""))
            else:
                t.redelivered = True
        for key, t in touched.items():
            await emit(key, t, tz)


async def emit(key: bytes, t: Touched, tz: str) -> None:
    """Store the invoice's state, send its contribution to every day it ever touched, and its list fact.

    A redelivered change sends the current contributions and fact again (idempotent downstream),
    which repairs whatever a crash lost between storing the state and sending them.
    """
    state = t.state
    contributions = {day.isoformat(): c for day, c in state.contributions(tz).items()}
    if t.changed:
        state.days.update(contributions)
        with writing_for(t.partition):
            invoice_state[key] = jsonio.dumps(state.to_json())
    for day in sorted(state.days):
        c = contributions.get(day)
        msg = {"day": day, "id": state.invoice_id, "rev": state.rev, "c": c.to_json() if c else None}
        await day_contributions.send(key=day.encode(), value=jsonio.dumps(msg))
    fact_after = fact_of(state)
    if t.redelivered or fact_after != t.fact_before:
        # created within this batch (perhaps changed again since): still an InvoiceCreated downstream
        op = "c" if t.fact_before is None and "c" in t.ops else state.row_op
        msg = {"id": state.invoice_id, "rev": state.rev, "op": op, "fact": fact_after}
        await invoice_facts.send(key=LATEST_KEY, value=jsonio.dumps(msg))
