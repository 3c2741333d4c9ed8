"""The merger: the worker that owns partition 0 merges every partition's state and publishes deltas.

It asks every owner for a snapshot (`{WORKER_ID}.control`), reads `{WORKER_ID}.partials` into a
`tables.merged.MergedView` (`stream.partials_reader`: from Kafka, or handed over by the owner in
this process), and publishes through `stream.sequencer`:

- per record, its invoice events one by one (`InvoiceCreated` with the seed's `SaleCompleted`,
  `InvoiceUpdated`, `InvoiceDeleted`), each with its own `seq`, once the view is complete;
- per tick, each channel's state delta when it changed: today's `SalesUpdated` and
  `PopularTracksUpdated`, `LatestInvoicesUpdated`, `ActiveUsersUpdated`. A tick comes
  `PUBLISH_INTERVAL` after the last, or half of that when records came in: then the state leaves
  with their events, in one produce request;
- edges' HTTP-API triggers from `chinook.deltas.in`, as they come.

It stops on every revoke (after flushing what it sent) and starts again where the sequencer's
read-back says it stopped, so exactly one worker publishes at a time and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import jsonio
from schemas.kafka_meta import partitions_of
from schemas.messages import Unsequenced
from stream import partials_reader
from stream.app import IDLE_FETCH_WAIT_MS, app, control, every, partials, settings
from stream.dead_letters import dead_letter_record
from stream.metrics import PublishLatency
from stream.owner import INVOICE_TOPIC, first_kept
from stream.ownership import owned_partitions, state_ready
from stream.partials_reader import PartialsReader
from stream.reference import reference, reference_ready
from stream.sequencer import EVENT_SLOTS, PARTIALS_SRC, Sequencer, read_published, read_resume_point
from tables import views
from tables.latest import InvoiceFact
from tables.merged import MergedView, to_fact
from tables.track_board import TrackBoard
from tables.windows import today

log = logging.getLogger(__name__)

SALES = "private-admin.sales"
INVOICES = "private-admin.invoices"
USERS = "private-admin.users"
TRACKS = "private-admin.tracks"

PARTIALS_TOPIC = next(iter(partials.topics))


def _consumer() -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # a resume point older than the topic's retention reads what is left
        fetch_max_wait_ms=IDLE_FETCH_WAIT_MS,  # a long poll: the broker answers as soon as a record arrives
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )


class Merger:
    """The merging and publishing role; `view` is complete (`view.ready`) once every owner sent a snapshot."""

    def __init__(self) -> None:
        self.view: MergedView | None = None
        self.seq: Sequencer | None = None
        self.task: asyncio.Task[None] | None = None
        self.dirty_days: set[date] = set()  # for the SQL sink
        self.records_read = 0
        self.starts = 0
        self.started_at: float | None = None
        self.ready_at: float | None = None
        self._pending: list[tuple[str, InvoiceFact, int, int]] = []  # (event, invoice, rev, src)
        self._notified: dict[int, int] = {}  # invoice id -> last rev told
        self._last_users: int | None = None
        self._state_dirty = True
        #: `chinook.deltas` read back while the worker starts: the first run continues it.
        self.early: asyncio.Task[Sequencer] | None = None
        self.latency = PublishLatency()  # COMMIT -> publish of the records applied, not yet published
        self.board = TrackBoard()  # today's genre sums and top tracks, kept between ticks

    @property
    def active(self) -> bool:
        return self.task is not None and not self.task.done()

    def ready_view(self) -> MergedView | None:
        view = self.view
        return view if self.active and view is not None and view.ready else None

    def start(self) -> None:
        self.starts += 1
        self.task = asyncio.ensure_future(self._run())
        self.task.add_done_callback(_log_end)

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await app.producer.flush()  # what it sent is in the topic before the next merger reads it back
            log.info("merger stopped")
        self.view = None

    # -- the run ----------------------------------------------------------------------------
    async def _run(self) -> None:
        self.started_at, self.ready_at = time.monotonic(), None
        self.view = MergedView(settings.topic_partitions)
        self._pending, self._notified, self._last_users, self._state_dirty = [], {}, None, True
        self.latency = PublishLatency()
        self.board = TrackBoard()
        self.seq = seq = await self._read_back()
        last = seq.last_data.get((USERS, "ActiveUsersUpdated"))
        self._last_users = last.get("count") if isinstance(last, dict) else None
        consumer = _consumer()
        await consumer.start()
        try:
            tp = TopicPartition(PARTIALS_TOPIC, 0)
            consumer.assign([tp])
            state_from = (await consumer.end_offsets([tp]))[tp]
            nonce = uuid.uuid4().hex[:8]
            for p in range(settings.topic_partitions):
                await control.send(value=jsonio.dumps({"snapshot": nonce}), partition=p)
            for channel in [c for c, n in seq.event_src.items() if n // EVENT_SLOTS >= state_from]:
                del seq.event_src[channel]  # told from a partials topic since deleted (a rebuild)
            told = [seq.event_src[c] // EVENT_SLOTS for c in (INVOICES, SALES) if c in seq.event_src]
            solo = set(owned_partitions(INVOICE_TOPIC)) == set(range(settings.topic_partitions))
            reader = PartialsReader(consumer, tp, min([state_from, *told]) if told else 0, solo)
            log.info("merger started: state from partials offset %d, events from %d", state_from, min(told or [0]))
            partials_reader.current = reader
            async with _triggers(seq):
                await self._follow(reader, state_from)
        finally:
            partials_reader.current = None
            await consumer.stop()

    async def _read_back(self) -> Sequencer:
        """What has been published: the start-up read-back continued, or (later runs) read anew from
        the last checkpoint."""
        early, self.early = self.early, None
        if early is not None:
            try:
                return await read_published(since=await early)
            except Exception as exc:  # read again from the start
                log.warning("merger: the early read-back failed (%r); reading the deltas again", exc)
                return await read_published()
        return await read_resume_point()

    async def _follow(self, reader: PartialsReader, state_from: int) -> None:
        view, seq = self.view, self.seq
        assert view is not None and seq is not None
        tp = reader.tp
        last_tick = 0.0
        while True:
            records = await reader.read(settings.publish_interval)
            for record in records:
                self.records_read += 1
                try:
                    if record.value is None:
                        raise ValueError("a partials record without a value")
                    doc = jsonio.loads(record.value)
                    if record.offset >= state_from:
                        applied = view.apply(doc)
                        events = applied.events
                        self.dirty_days |= applied.days
                        self._state_dirty = True
                        self.latency.applied(doc, bool(events))
                    else:
                        events = [(str(n), to_fact(int(i), f), int(r)) for n, i, r, f in doc.get("events", [])]
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    await dead_letter_record(
                        tp.topic, tp.partition, record.offset, record.key, record.value, record.timestamp, str(exc)
                    )
                    continue
                base = record.offset * EVENT_SLOTS
                self._pending += [(name, fact, rev, base + i) for i, (name, fact, rev) in enumerate(events)]
            if not view.ready or not reference_ready.is_set():
                continue
            if self.ready_at is None:
                self.ready_at = time.monotonic()
                log.info(
                    "merger ready: every partition's snapshot read (%.1f s)", self.ready_at - (self.started_at or 0)
                )
            await self._publish_events(seq, view)
            self.latency.events_published()
            now = time.monotonic()
            if now >= last_tick + settings.publish_interval / (2 if records else 1):
                last_tick = now
                await self._publish_state(seq, view)
                self.latency.state_published()
            await seq.flush()

    async def _publish_events(self, seq: Sequencer, view: MergedView) -> None:
        pending, self._pending = self._pending, []
        for name, fact, rev, src in pending:
            if rev <= self._notified.get(fact.invoice_id, 0):
                continue  # told already (a batch repeated after a crash)
            self._notified[fact.invoice_id] = rev
            if not seq.published(INVOICES, src):
                data = views.invoice_event(fact, view.latest, reference)
                seq.publish(INVOICES, name, data, src=(PARTIALS_SRC, src))
                seq.last_data[(INVOICES, "LatestInvoicesUpdated")] = {"latest": data["latest"]}
            if name == "InvoiceCreated" and not seq.published(SALES, src):
                seq.publish(SALES, "SaleCompleted", views.invoice_summary(fact, reference), src=(PARTIALS_SRC, src))

    async def _publish_state(self, seq: Sequencer, view: MergedView) -> None:
        kept = first_kept()
        if kept is not None:
            view.forget_before(kept)
        now = datetime.now(UTC)
        count = view.active_count(now)
        if count != self._last_users:
            seq.publish(USERS, "ActiveUsersUpdated", views.active_users_updated(view.active_users(), now))
            self._last_users = count
        if not self._state_dirty:
            return
        self._state_dirty = False
        day = today(settings.pulse_timezone)
        sales = view.day(day)
        self.board.follow(sales, reference)
        latest = {"latest": views.latest_summaries(view.latest, reference)}
        for channel, event, data in (
            (SALES, "SalesUpdated", views.sales_updated(day, sales, reference, self.board.by_genre)),
            (TRACKS, "PopularTracksUpdated", views.popular_tracks_updated(day, sales, reference, self.board.top)),
            (INVOICES, "LatestInvoicesUpdated", latest),
        ):
            if seq.last_data.get((channel, event)) != data:
                seq.publish(channel, event, data)

    def status(self) -> dict[str, Any]:
        view = self.view
        return {
            "active": self.active,
            "ready": view is not None and view.ready,
            "partitions_complete": sorted(view.complete) if view is not None else [],
            "records_read": self.records_read,
            "records_handed_over": reader.taken if (reader := partials_reader.current) is not None else 0,
            "deltas_sent": self.seq.sent if self.seq is not None else 0,
            "ready_after_s": None
            if self.ready_at is None or self.started_at is None
            else round(self.ready_at - self.started_at, 3),
        }


def _log_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("merger failed: %r; it starts again", task.exception())


@contextlib.asynccontextmanager
async def _triggers(seq: Sequencer) -> Any:
    """Follow `chinook.deltas.in` (the edges' HTTP-API triggers) while the merger runs."""
    task = asyncio.ensure_future(_follow_triggers(seq))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _follow_triggers(seq: Sequencer) -> None:
    topic = settings.deltas_topic + ".in"
    consumer = _consumer()
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, seq.trigger_offsets.get(tp.partition, -1) + 1)
        while True:
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=1000)).items():
                for r in records:
                    if r.offset <= seq.trigger_offsets.get(tp.partition, -1):
                        continue
                    try:
                        item = Unsequenced.decode(r.value)
                    except (ValueError, KeyError, TypeError) as exc:
                        await dead_letter_record(
                            tp.topic, tp.partition, r.offset, r.key, r.value, r.timestamp, str(exc)
                        )
                        seq.trigger_offsets[tp.partition] = r.offset
                        continue
                    seq.publish(
                        item.channel,
                        item.event,
                        item.data,
                        src=(tp.partition, r.offset),
                        socket_id=item.socket_id,
                        ts_ms=item.ts_ms or None,
                    )
            await seq.flush()
    finally:
        await consumer.stop()


merger = Merger()


def wanted() -> bool:
    return state_ready() and 0 in owned_partitions(INVOICE_TOPIC)


@app.on_partitions_revoked.connect
async def _stop_on_revoke(app_: Any, revoked: Any, **kwargs: Any) -> None:
    await merger.stop()


@app.task
async def read_back_early() -> None:
    """Read `chinook.deltas` back while the worker joins its group and recovers its tables, so a
    restarted merger publishes sooner (its first run reads only what was published since)."""
    merger.early = asyncio.ensure_future(read_resume_point())


@every(0.1)
async def keep_merger() -> None:
    """Start the merger when this worker owns partition 0 and its state is ready; restart it if it failed."""
    if merger.active:
        return
    if merger.task is not None:  # it failed: start over
        merger.task = None
    if wanted():
        merger.start()
