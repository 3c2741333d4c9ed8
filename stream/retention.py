"""Our own retention rule for day state (Faust's window expiry is not used: it follows the wall
clock and never expires windows restored from a changelog).

With `PULSE_RETENTION_DAYS` set, days older than today minus that many days are closed for good:
their facts are deleted from the day owner's table (and so from its changelog) and facts arriving
later for them are ignored. Unset (the default), every day is kept and equals SQL forever.

Table writes need the partition of the event being processed, so a timer does not delete directly:
it sends a prune marker to each partition this worker owns, and the day owner's agent prunes that
partition when the marker comes through.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from faust.types import TP

from schemas import jsonio
from stream.app import app, day_contributions, settings
from stream.ownership import partition_of, state_ready
from tables.windows import today

log = logging.getLogger(__name__)

PRUNE_KEY = b"__prune__"


def cutoff(now_day: date, retention_days: int | None) -> date | None:
    """The first day kept (older days are pruned), or None when everything is kept."""
    return None if retention_days is None else now_day - timedelta(days=retention_days)


def expired(day: date, retention_days: int | None, now_day: date) -> bool:
    first_kept = cutoff(now_day, retention_days)
    return first_kept is not None and day < first_kept


def keys_to_prune(keys: list[bytes], partition: int, first_kept: date) -> list[bytes]:
    """Fact keys (`day|invoice`) of one partition whose day is before `first_kept`."""
    out = []
    for key in keys:
        day_text = key.split(b"|", 1)[0].decode()
        if date.fromisoformat(day_text) < first_kept and partition_of(day_text.encode()) == partition:
            out.append(key)
    return out


@app.timer(interval=60.0)
async def send_prune_markers() -> None:
    if settings.pulse_retention_days is None or not state_ready():
        return
    first_kept = cutoff(today(settings.pulse_timezone), settings.pulse_retention_days)
    assert first_kept is not None
    topic = next(iter(day_contributions.topics))
    for tp in app.assignor.assigned_actives():
        if isinstance(tp, TP) and tp.topic == topic:
            marker = jsonio.dumps({"prune_before": first_kept.isoformat()})
            await day_contributions.send(key=PRUNE_KEY, value=marker, partition=tp.partition)
