"""Stage 2: the invoice owner keeps each invoice's row state and sends its absolute contributions.

For every change (and again for a redelivered one, which repairs anything lost in a crash) it
sends, per day the invoice ever touched, the invoice's whole contribution to that day (or None
once it left the day), versioned by the invoice's revision; and the invoice's list fact
(date, customer, total) to the owner of the newest-invoices list.

Events come in batches (`stream.batching`): each invoice touched by a batch is read, changed by
all its events in order, written once and its facts sent once. The reads and writes of a batch
happen in `apply_batch`, synchronously, before anything is sent (see `stream.batching` for why).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from faust.types import StreamT

from schemas import jsonio
from stream.app import app, day_contributions, invoice_changes, invoice_facts, settings
from stream.batching import batches, bytes_table, writing_for
from tables.contributions import Contribution
from tables.invoice_state import InvoiceRow, InvoiceState, LineRow, parse_instant

LATEST_KEY = b"latest"

invoice_state = bytes_table("invoice-state")


def load_state(key: bytes, table: MutableMapping[bytes, bytes] | None = None) -> InvoiceState:
    raw = (invoice_state if table is None else table).get(key)
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
    contributions: dict[str, Contribution] = field(default_factory=dict)


def apply_batch(
    events: Sequence[Any], tz: str, table: MutableMapping[bytes, bytes] | None = None
) -> dict[bytes, Touched]:
    """Apply a batch of changes per invoice and store every changed invoice once.

    Synchronous on purpose: all reads and writes of the batch's state happen in one step of the
    event loop, so they cannot interleave with a rebalance's table recovery.
    """
    store = invoice_state if table is None else table
    touched: dict[bytes, Touched] = {}
    for event in events:
        key: bytes = event.key
        t = touched.get(key)
        if t is None:
            state = load_state(key, store)
            t = touched[key] = Touched(state, event.message.partition, fact_of(state))
        msg = jsonio.loads(event.value)
        if apply_message(t.state, msg):
            t.changed = True
            if msg["k"] == "i":
                t.ops.add(msg.get("op", ""))
        else:
            t.redelivered = True
    for key, t in touched.items():
        t.contributions = {day.isoformat(): c for day, c in t.state.contributions(tz).items()}
        if t.changed:
            t.state.days.update(t.contributions)
            with writing_for(t.partition):
                store[key] = jsonio.dumps(t.state.to_json())
    return touched


def day_messages(t: Touched) -> list[tuple[bytes, bytes]]:
    """The invoice's contribution to every day it ever touched (None for days it left), keyed by day."""
    out = []
    for day in sorted(t.state.days):
        c = t.contributions.get(day)
        msg = {"day": day, "id": t.state.invoice_id, "rev": t.state.rev, "c": c.to_json() if c else None}
        out.append((day.encode(), jsonio.dumps(msg)))
    return out


def list_fact(t: Touched) -> bytes | None:
    """The invoice's list fact, when it changed in the batch or the batch redelivered a change."""
    state = t.state
    fact_after = fact_of(state)
    if not t.redelivered and fact_after == t.fact_before:
        return None
    # created within this batch (perhaps changed again since): still an InvoiceCreated downstream
    op = "c" if t.fact_before is None and "c" in t.ops else state.row_op
    return jsonio.dumps({"id": state.invoice_id, "rev": state.rev, "op": op, "fact": fact_after})


async def send_facts(t: Touched) -> None:
    """Send the invoice's day contributions and list fact (idempotent downstream: versioned by rev).

    A redelivered change sends them again, which repairs whatever a crash lost between storing
    the state and sending them.
    """
    for key, value in day_messages(t):
        await day_contributions.send(key=key, value=value)
    fact = list_fact(t)
    if fact is not None:
        await invoice_facts.send(key=LATEST_KEY, value=fact)


@app.agent(invoice_changes)
async def own_invoices(stream: StreamT[bytes]) -> None:
    tz = settings.pulse_timezone
    async with aclosing(batches(stream)) as taken:
        async for events in taken:
            touched = apply_batch(events, tz)  # no await before this: see stream.batching
            for t in touched.values():
                await send_facts(t)
