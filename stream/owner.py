"""The owner: each change event passes through Faust once, and each batch leaves as one record.

The owner of a partition holds its invoices (with their lines) and users in the `rows` table and
its per-day sums in memory (`tables.partition_state`). A batch of events (`stream.batching`) is
applied to the rows by change position; then, per partition, one record with the absolute
values of everything the batch changed (and its invoice events) goes to `{WORKER_ID}.partials`
and is delivered *before* the batch's rows are written to the table (once per key: the changelog
first, the local store once Kafka has them); the batch is acked after that. So a crash repeats a
batch (idempotent) but never loses its events or its rows.

After every rebalance the sums are rebuilt from the rows and each owned partition sends a
snapshot (its whole state); the merger also asks for snapshots through `{WORKER_ID}.control`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from contextlib import aclosing
from datetime import UTC, date, datetime
from typing import Any

from faust.types import TP, StreamT

from schemas import jsonio
from schemas.events import ChangeEvent, Op, ParseFailure, SkipKind, Skipped, Tombstone
from schemas.records import Invoice, InvoiceLine, User
from stream.app import app, cdc_parser, every, owner_input, partials, settings
from stream.batching import batches, before_revoke_flush, bytes_table, current, writing_for
from stream.dead_letters import dead_letter
from stream.metrics import COMMIT_FIELD
from stream.output import Record, send_batch
from stream.ownership import on_rebalance, owned_partitions, partition_of, state_ready
from stream.partials_reader import Partial, hand_over
from tables.invoice_state import InvoiceRow, LineRow
from tables.partition_state import (
    PartitionState,
    invoice_key,
    restore,
    stored_invoice,
    stored_user,
    user_key,
)
from tables.windows import today

log = logging.getLogger(__name__)

rows = bytes_table("rows")

CONTROL_TOPIC = next(t for t in owner_input.topics if t.endswith(".control"))
INVOICE_TOPIC = settings.cdc_topic("invoice")
PARTIALS_TOPIC = next(iter(partials.topics))


def first_kept() -> date | None:
    """The first day kept under `PULSE_RETENTION_DAYS` (None: every day is kept)."""
    days = settings.pulse_retention_days
    if days is None:
        return None
    return date.fromordinal(today(settings.pulse_timezone).toordinal() - days)


class Owned:
    """The states of the partitions this worker owns, valid until the next rebalance."""

    def __init__(self) -> None:
        self.states: dict[int, PartitionState] = {}
        self.valid = False
        self.snapshots_due: dict[int, str] = {}
        self.lock = asyncio.Lock()  # a batch's send-then-write and a snapshot never interleave

    def invalidate(self) -> None:
        self.valid = False
        self.states = {}
        self.snapshots_due = {}

    def ensure(self) -> dict[int, PartitionState]:
        """Rebuild the owned partitions' states from the rows table (synchronously) when invalid."""
        if not self.valid:
            kept = first_kept()
            states = {p: PartitionState(p, settings.pulse_timezone, kept) for p in owned_partitions(INVOICE_TOPIC)}
            for key, raw in rows.items():
                restore(states, bytes(key), jsonio.loads(raw))
            for state in states.values():
                state.rebuild()
            self.states = states
            self.snapshots_due = {p: f"assigned-{uuid.uuid4().hex[:8]}" for p in states}
            self.valid = True
            log.info("owner: %d partition(s) rebuilt: %s", len(states), sorted(states))
        return self.states


owned = Owned()
on_rebalance(owned.invalidate)


async def _batch_finished() -> None:
    """A revoke waits for the batch in progress to finish its sends (stream.batching)."""
    async with owned.lock:
        pass


before_revoke_flush.append(_batch_finished)


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _pos(pos: tuple[int, ...]) -> tuple[int, int, int]:
    return (pos[0], pos[1], pos[2])


_partition_of_invoice: dict[int, int] = {}


def _invoice_partition(invoice_id: int) -> int:
    """The partition of an invoice's key (murmur2 of `{"invoice_id":N}`), remembered."""
    p = _partition_of_invoice.get(invoice_id)
    if p is None:
        if len(_partition_of_invoice) >= 1_000_000:
            _partition_of_invoice.clear()
        p = _partition_of_invoice[invoice_id] = partition_of(b'{"invoice_id":%d}' % invoice_id)
    return p


def apply_change(state: PartitionState, change: ChangeEvent) -> str | None:
    """Apply one change event to its partition's state; a reason when it cannot be used here."""
    pos = change.position
    assert pos is not None
    p = state.partition
    deleted = change.op == Op.DELETE
    record = change.record
    if isinstance(record, Invoice):
        row = None
        if not deleted:
            row = InvoiceRow(record.customer_id, _aware(record.invoice_date), record.billing_country, record.total)
        state.apply_invoice(record.invoice_id, _pos(pos), row, change.op.value)
        return None
    if isinstance(record, InvoiceLine):
        moves: list[tuple[int, LineRow | None]] = []
        before = change.before
        if isinstance(before, InvoiceLine) and before.invoice_id != record.invoice_id and not deleted:
            moves.append((before.invoice_id, None))  # moved without a key change: leaves the old invoice
        line = None if deleted else LineRow(record.track_id, record.unit_price, record.quantity)
        moves.append((record.invoice_id, line))
        for invoice_id, _ in moves:
            if _invoice_partition(invoice_id) != p:
                return (
                    f"invoice_line of invoice {invoice_id} read from partition {p}, not its invoice's: "
                    "the connector must key invoice_line by invoice_id (message.key.columns)"
                )
        for invoice_id, value in moves:
            state.apply_line(invoice_id, record.invoice_line_id, _pos(pos), value)
        return None
    if isinstance(record, User):
        last = None if deleted or record.last_activity is None else _aware(record.last_activity).isoformat()
        state.apply_user(record.id, _pos(pos), last)
        return None
    return f"unexpected record {type(record).__name__} on the owner's topics"


class Batch:
    """What one batch did: per partition, its record and the rows to store; dead letters; snapshot requests."""

    def __init__(self) -> None:
        self.records: dict[int, dict[str, Any]] = {}
        self.writes: list[tuple[int, bytes, bytes]] = []
        self.event_of: dict[int, Any] = {}  # one event per partition: the current event of its writes
        self.dead: list[tuple[Any, str]] = []
        self.truncated: set[str] = set()
        self.commit_ms: dict[int, int] = {}  # per partition: the commit time of its oldest change (stream.metrics)


def take_batch(events: Sequence[Any], states: dict[int, PartitionState], snapshots_due: dict[int, str]) -> Batch:
    """Apply a batch to the partition states (synchronously) and collect what it must send and store."""
    out = Batch()
    touched: set[int] = set()
    for event in events:
        message = event.message
        p = message.partition
        if message.topic == CONTROL_TOPIC:
            try:
                snapshots_due[p] = str(jsonio.loads(message.value)["snapshot"])
            except (ValueError, KeyError, TypeError):
                out.dead.append((event, "not a snapshot request"))
            continue
        out.event_of.setdefault(p, event)
        state = states.get(p)
        if state is None:  # not ours any more (cannot happen for a current event): read again by its owner
            continue
        result = cdc_parser.parse(message.key, message.value, message.topic)
        if isinstance(result, ChangeEvent):
            if result.position is None:
                out.dead.append((event, "change event without source.lsn"))
                continue
            reason = apply_change(state, result)
            if reason is not None:
                out.dead.append((event, reason))
            touched.add(p)
            if p not in out.commit_ms and result.source.ts_ms is not None and not result.source.snapshot:
                out.commit_ms[p] = result.source.ts_ms  # a partition's changes come in commit order
        elif isinstance(result, ParseFailure):
            out.dead.append((event, result.reason))
        elif isinstance(result, Skipped) and result.kind == SkipKind.TRUNCATE:
            out.truncated.add(message.topic)
        elif not isinstance(result, Tombstone | Skipped):  # pragma: no cover - exhaustive
            out.dead.append((event, f"unexpected parse result {type(result).__name__}"))
    for p in sorted(touched):
        state = states[p]
        invoices, users = state.dirty_invoices(), state.dirty_users()
        record = state.take_changes()
        if record is not None:
            record[COMMIT_FIELD] = out.commit_ms.get(p)
            out.records[p] = record
        for inv in invoices:
            out.writes.append((p, invoice_key(inv.invoice_id), jsonio.dumps(stored_invoice(p, inv))))
        for user_id, pos, last in users:
            out.writes.append((p, user_key(user_id), jsonio.dumps(stored_user(p, pos, last))))
    return out


async def send_records(records: Sequence[dict[str, Any]]) -> None:
    """Send records to the merger (one batch), wait until Kafka has them, and hand them to the
    merger if it runs in this process (stream.partials_reader)."""
    if records:
        values = [jsonio.dumps(r) for r in records]
        sent = await send_batch(PARTIALS_TOPIC, 0, [(None, v) for v in values])
        offsets = await sent.offsets()
        if hand_over([Partial(offset, value) for offset, value in zip(offsets, values, strict=True)]):
            # let the merger take them now: its deltas and the rows written next leave in one produce request
            await asyncio.sleep(0)


async def store_rows(writes: Sequence[tuple[int, bytes, bytes]], event_of: dict[int, Any]) -> None:
    """Write each changed row once: to the table's changelog as one batch per partition and, once
    Kafka has a partition's batch, into the local store with the changelog offset it now holds.

    Never the other way round: a store ahead of its changelog survives a crash, the repeated batch
    then changes nothing and writes nothing, and the next owner of the partition would recover
    without those rows."""
    by_partition: dict[int, list[Record]] = defaultdict(list)
    for p, key, value in writes:
        by_partition[p].append((key, value))
    changelog = rows.changelog_topic.get_topic_name()
    sent = [await send_batch(changelog, p, records) for p, records in by_partition.items()]
    store = rows.data
    for s in sent:
        last = await s.last_offset()
        with writing_for(event_of[s.partition]):
            for row_key, row in by_partition[s.partition]:
                store[row_key] = row
        if last is not None:
            store.set_persisted_offset(TP(changelog, s.partition), last)


async def send_due_snapshots() -> None:
    """Send the snapshots asked for (after an assignment, or by the merger)."""
    while owned.snapshots_due:
        p, nonce = owned.snapshots_due.popitem()
        state = owned.states.get(p)
        if state is not None:
            await send_records(list(state.snapshot(nonce)))
            log.info("owner: snapshot %s of partition %d sent (%d days)", nonce, p, len(state.days))


@app.agent(owner_input)
async def own(stream: StreamT[bytes]) -> None:
    async with aclosing(batches(stream)) as taken:
        async for events in taken:
            states = owned.ensure()  # synchronous; nothing awaited between the hand-over and the apply
            batch = take_batch(events, states, owned.snapshots_due)
            async with owned.lock:
                if not all(current(app, e) for e in events):
                    continue  # a rebalance began: not acked, read again by the partition's owner
                await send_records(list(batch.records.values()))
                if all(current(app, e) for e in events):
                    await store_rows(batch.writes, batch.event_of)
                await send_due_snapshots()
            for event, reason in batch.dead:
                await dead_letter(event, reason)
            for topic in batch.truncated:
                log.error("TRUNCATE of %s seen: tables cannot follow it; run `chinook-pulse rebuild`", topic)


@every(0.1)
async def snapshots_when_quiet() -> None:
    """Rebuild and send snapshots when no event comes to do it (a quiet partition after a rebalance)."""
    if not state_ready() or (owned.valid and not owned.snapshots_due):
        return
    async with owned.lock:
        if state_ready():
            owned.ensure()
            await send_due_snapshots()


@app.timer(interval=60.0)
async def apply_retention() -> None:
    if settings.pulse_retention_days is None or not owned.valid:
        return
    kept = first_kept()
    for state in owned.states.values():
        state.prune(kept)
