"""The SQL sink: the merged windows, upserted into PostgreSQL (schema `analytics`, docs/analytics.md).

It runs on the merger (the one worker with the whole store's numbers). A timer drains the days
the merger marked dirty, snapshots their windows in the event loop and writes them in batches
from a thread (`stream.sink_writer`). Whenever the merger (re)starts it writes every day again,
and deletes the rows of days it no longer has (a resync). When a minute passes, the current day
is written once more, so windows that have just closed are stored with ``closed = true``.
A day it wrote recently is written as the difference from what it wrote then (`Written`); a
resync, a failed write or a day not remembered writes the day whole.

Its settings are `Settings.sink` (``SINK_*``). The schema is `SINK_SCHEMA`; unset, it is
`analytics` for the production worker group (`WORKER_ID=chinook-pulse`) and no schema at all
(sink off) for any other group, so test and scratch workers never write the analysts' tables
unless told to.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine

from schemas.settings import SinkSettings
from stream.app import app, settings
from stream.merger import merger
from stream.reference import reference, reference_ready
from stream.sink_writer import Written, ensure_schema, stored_days, write_days
from tables.analytics import DEFAULT_SCHEMA, AnalyticsTables, analytics_tables
from tables.day_rows import DayBreakdown
from tables.windows import bucket_of, today

log = logging.getLogger(__name__)

PRODUCTION_GROUP = "chinook-pulse"

#: Days whose last write the sink remembers (the most recently written): today and a few it edits.
REMEMBERED_DAYS = 8


def target_schema(config: SinkSettings, worker_id: str) -> str | None:
    if not config.enabled:
        return None
    if config.schema_name:
        return config.schema_name
    return DEFAULT_SCHEMA if worker_id == PRODUCTION_GROUP else None


@dataclass
class Counters:
    flushes: int = 0
    days_written: int = 0
    rows_upserted: int = 0
    rows_deleted: int = 0
    rows_sent: int = 0
    errors: int = 0
    last_error: str | None = None
    last_flush_at: str | None = None
    resyncs_requested: int = 0
    resyncs_completed: int = 0


class SinkState:
    def __init__(self, config: SinkSettings) -> None:
        self.config = config
        self.schema = target_schema(config, settings.worker_id)
        self.tables: AnalyticsTables | None = None if self.schema is None else analytics_tables(self.schema)
        self.engine: Engine | None = None
        self.pending: set[date] = set()
        self.resync = True
        self.resync_target = 0
        self.last_minute: tuple[date, int] | None = None
        self.merger_starts = 0
        self.counters = Counters()
        self.written: dict[date, Written] = {}  # what the last write of a day stored, most recent last

    def remember(self, written: dict[date, Written]) -> None:
        for day, rows in written.items():
            self.written.pop(day, None)
            self.written[day] = rows
        while len(self.written) > REMEMBERED_DAYS:
            del self.written[next(iter(self.written))]


config = settings.sink
state = SinkState(config)


def status() -> dict[str, Any]:
    return {
        "enabled": state.schema is not None,
        "schema": state.schema,
        "pending_days": len(state.pending) + len(merger.dirty_days),
        "resync_pending": state.resync or (merger.active and _merger_restarted()),
        **asdict(state.counters),
    }


def request_resync() -> None:
    """Write every day again at the next flush (and delete rows of days gone empty)."""
    state.counters.resyncs_requested += 1
    state.resync = True


def _merger_restarted() -> bool:
    """The merger (re)started since the sink last began a resync."""
    return state.merger_starts != merger.starts


@app.on_partitions_assigned.connect
async def _on_assigned(app_: Any, assigned: Any, **kwargs: Any) -> None:
    state.resync = True


async def _connect(tables: AnalyticsTables) -> Engine:
    url = config.database_url or settings.sqlalchemy_url
    engine = create_engine(url, pool_size=2, max_overflow=0, pool_pre_ping=True)
    await asyncio.to_thread(ensure_schema, engine, tables)
    log.info("SQL sink writes schema %s", tables.schema)
    return engine


def _closing_days(now: datetime, tz: str) -> set[date]:
    """Days to write again because a minute (and with it maybe an hour or a day) has just closed."""
    bucket = bucket_of(now, tz)
    current = (bucket.day, bucket.minute_of_day)
    previous, state.last_minute = state.last_minute, current
    if previous is None or previous == current:
        return set()
    return {previous[0], bucket.day}


@app.timer(interval=config.interval)
async def flush_sink() -> None:
    tables = state.tables
    if not merger.active:  # only the merger writes: another worker has nothing to write
        state.pending.clear()
        merger.dirty_days.clear()
        state.resync = False
        state.counters.resyncs_completed = state.counters.resyncs_requested
        return
    if _merger_restarted():  # write every day again
        state.merger_starts = merger.starts
        state.resync = True
    if tables is None or merger.ready_view() is None or not reference_ready.is_set():
        return
    try:
        if state.engine is None:
            state.engine = await _connect(tables)
            if merger.ready_view() is None:  # the merger stopped while connecting
                return
        await flush(state.engine, tables)
    except Exception as exc:  # the database may be down: keep the days, try again next tick
        state.counters.errors += 1
        state.counters.last_error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("SQL sink failed (%s); retrying", state.counters.last_error)


async def flush(engine: Engine, tables: AnalyticsTables) -> None:
    tz = settings.pulse_timezone
    view = merger.ready_view()
    if view is None:
        return
    if state.resync:  # every day whole: the database may hold what this process did not write
        state.resync = False
        state.written.clear()
        state.resync_target = state.counters.resyncs_requested
        state.pending |= set(view.all_days()) | await asyncio.to_thread(stored_days, engine, tables, tz)
    state.pending |= merger.dirty_days
    merger.dirty_days.clear()
    now = datetime.now(UTC)
    state.pending |= _closing_days(now, tz)
    retention = getattr(settings, "pulse_retention_days", None)  # pruned days keep their analytics rows
    first_kept = None if retention is None else today(tz) - timedelta(days=retention)
    state.pending = {d for d in state.pending if first_kept is None or d >= first_kept}
    if not state.pending:
        state.counters.resyncs_completed = state.resync_target
        return
    batch = sorted(state.pending)[: config.batch_days]
    snapshots = [DayBreakdown.from_sales(d, view.day(d), reference) for d in batch]
    known = {d: state.written[d] for d in batch if d in state.written}
    for d in batch:  # until the write is known to be committed, the next one writes these days whole
        state.written.pop(d, None)
    result, written = await asyncio.to_thread(write_days, engine, tables, snapshots, tz, now, known)
    state.remember(written)
    state.pending.difference_update(batch)
    c = state.counters
    c.flushes += 1
    c.days_written += result.days
    c.rows_upserted += result.upserted
    c.rows_deleted += result.deleted
    c.rows_sent += result.sent
    c.last_flush_at = now.isoformat().replace("+00:00", "Z")
    if not state.pending and not merger.dirty_days:
        c.resyncs_completed = state.resync_target
