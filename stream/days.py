"""Stage 3a: the day owner keeps each invoice's latest contribution to a day and that day's sums.

Facts are stored per (day, invoice) with the invoice's revision; a fact is applied only when its
revision is newer. The sums (`tables.day_sales.DaySales`) live in memory and are rebuilt from the
stored facts after every rebalance or restart, never changelogged themselves: they cannot drift.
A timer publishes today's `SalesUpdated` and `PopularTracksUpdated` whenever they change.

Facts come in batches (`stream.batching`); only the newest fact per (day, invoice) of a batch is
applied, synchronously in `apply_batch` (see `stream.batching` for why it must be synchronous).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping, Sequence
from contextlib import aclosing
from datetime import date
from typing import Any

from faust.types import StreamT

from schemas import jsonio
from stream import retention
from stream.app import app, day_contributions, settings
from stream.batching import batches, bytes_table, writing_for
from stream.ownership import on_rebalance, owns, state_ready
from stream.publish import SALES, TRACKS, LastPublished
from stream.reference import reference, reference_ready
from tables import views
from tables.contributions import Contribution
from tables.day_sales import DaySales
from tables.windows import today

log = logging.getLogger(__name__)

day_facts = bytes_table("day-facts")

#: Days whose facts changed since the SQL sink (`stream.sink`) last drained this set.
dirty_days: set[date] = set()


class DayCache:
    """In-memory `DaySales` per day, derived from `day_facts`; dropped on every rebalance."""

    def __init__(self) -> None:
        self.days: dict[date, DaySales] = {}
        self.valid = False

    def invalidate(self) -> None:
        self.days.clear()
        self.valid = False

    def ensure(self) -> dict[date, DaySales]:
        if not self.valid:
            self.days.clear()
            for key, raw in day_facts.items():
                day_text, invoice_id = bytes(key).decode().split("|")
                fact = jsonio.loads(raw)
                if fact["c"] is not None:
                    self.apply(date.fromisoformat(day_text), int(invoice_id), Contribution.from_json(fact["c"]))
            self.valid = True
            log.info("day sums rebuilt from stored facts: %d days", len(self.days))
        return self.days

    def apply(self, day: date, invoice_id: int, contribution: Contribution | None) -> None:
        sales = self.days.get(day)
        if sales is None:
            sales = self.days[day] = DaySales(day)
        sales.apply(invoice_id, contribution)


cache = DayCache()
published = LastPublished()
on_rebalance(cache.invalidate, published.forget)


def apply_fact(msg: dict[str, Any], table: MutableMapping[bytes, bytes] | None = None) -> bool:
    """Store a contribution fact if it is newer than the stored one; update the sums. False if stale."""
    store = day_facts if table is None else table
    key = f"{msg['day']}|{msg['id']}".encode()
    stored = store.get(key)
    if stored is not None and jsonio.loads(stored)["rev"] >= msg["rev"]:
        return False
    store[key] = jsonio.dumps({"rev": msg["rev"], "c": msg["c"]})
    dirty_days.add(date.fromisoformat(msg["day"]))
    if cache.valid:
        c = None if msg["c"] is None else Contribution.from_json(msg["c"])
        cache.apply(date.fromisoformat(msg["day"]), int(msg["id"]), c)
    return True


def prune(partition: int, first_kept: date) -> int:
    """Delete this partition's facts of days before `first_kept` (see stream/retention.py)."""
    keys = retention.keys_to_prune([bytes(k) for k in day_facts.keys()], partition, first_kept)
    for key in keys:
        del day_facts[key]
    for day in [d for d in cache.days if d < first_kept]:
        del cache.days[day]
    if keys:
        log.info("retention: pruned %d facts of days before %s in partition %d", len(keys), first_kept, partition)
    return len(keys)


def apply_batch(events: Sequence[Any], now_day: date, table: MutableMapping[bytes, bytes] | None = None) -> int:
    """Apply a batch: prune markers in place, then the newest fact per (day, invoice). Returns facts stored.

    Synchronous on purpose: all reads and writes of the batch happen in one step of the event loop,
    so they cannot interleave with a rebalance's table recovery.
    """
    newest: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}  # (day, invoice) -> (partition, fact)
    for event in events:
        msg = jsonio.loads(event.value)
        partition = event.message.partition
        if "prune_before" in msg:
            with writing_for(partition):
                prune(partition, date.fromisoformat(msg["prune_before"]))
            continue
        if retention.expired(date.fromisoformat(msg["day"]), settings.pulse_retention_days, now_day):
            continue
        seen = newest.get((msg["day"], msg["id"]))
        if seen is None or msg["rev"] > seen[1]["rev"]:
            newest[(msg["day"], msg["id"])] = (partition, msg)
    stored = 0
    for partition, msg in newest.values():
        with writing_for(partition):
            stored += apply_fact(msg, table)
    return stored


@app.agent(day_contributions)
async def own_days(stream: StreamT[bytes]) -> None:
    async with aclosing(batches(stream)) as taken:
        async for events in taken:
            apply_batch(events, _today())  # no await before this: see stream.batching


def _today() -> date:
    return today(settings.pulse_timezone)


@app.timer(interval=settings.publish_interval)
async def publish_today() -> None:
    if not state_ready() or not reference_ready.is_set():
        return
    day = today(settings.pulse_timezone)
    if not owns(day_contributions, day.isoformat().encode()):
        return
    sales = cache.ensure().get(day)
    await published.publish_if_changed(SALES, "SalesUpdated", views.sales_updated(day, sales, reference))
    await published.publish_if_changed(
        TRACKS, "PopularTracksUpdated", views.popular_tracks_updated(day, sales, reference)
    )
