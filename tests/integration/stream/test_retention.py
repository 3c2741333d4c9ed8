"""With PULSE_RETENTION_DAYS, old days are pruned from the worker's state; recent days stay exact."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from schemas.settings import Settings
from tables import oracle
from tables.windows import today
from tests.support.oracle import source_days
from tests.support.polling import eventually
from tests.support.workers import Isolation, Worker, wait_ready

pytestmark = pytest.mark.integration


def count_on(worker: Worker, day: date, within: float) -> int:
    """The worker's invoice count of a day, once it has one (bounded wait)."""
    deadline = time.monotonic() + within
    while True:
        r = worker.get(f"/pulse/days/{day.isoformat()}/")
        if r is not None and r.status_code == 200 and r.json()["sales"]["invoice_count"] > 0:
            return int(r.json()["sales"]["invoice_count"])
        if time.monotonic() > deadline:
            raise AssertionError(f"no sales of {day} after {within:.0f}s: {r and r.text[:200]}\n{worker.log_tail()}")
        time.sleep(1)


def recent_days_wrong(engine: Engine, worker: Worker, recent: list[date], tz: str) -> list[str]:
    """The recent days whose sales the worker does not serve exactly as SQL computes them."""
    wrong = []
    with engine.connect() as conn:
        for day in recent:
            r = worker.get(f"/pulse/days/{day.isoformat()}/")
            got = r.json()["sales"] if r is not None and r.status_code == 200 else r and r.status_code
            want = oracle.sales_of_day(conn, day, tz)
            if got != want:
                wrong.append(f"{day}: {got} != SQL {want}")
    return wrong


def test_days_older_than_the_retention_are_pruned(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    tz = settings.pulse_timezone
    days = source_days(engine, tz)
    old = min(days)  # the Chinook rows start years ago
    assert (today(tz) - old).days > 400, "needs an old day in the source"
    isolation = Isolation()
    # first without retention: the old day's facts are stored (and changelogged)
    first = Worker(isolation, tmp_path, "w1").start()
    try:
        wait_ready([first])
        assert count_on(first, old, within=120) > 0
    finally:
        first.stop()
    # restarted with retention: the state restored from the changelog must be pruned
    worker = Worker(isolation, tmp_path, "w2", env={"PULSE_RETENTION_DAYS": "365"}).start()
    try:
        wait_ready([worker])
        deadline = time.monotonic() + 180  # the prune timer runs every 60 s
        while True:
            r = worker.get(f"/pulse/days/{old.isoformat()}/")
            owner = r is not None and r.status_code == 200
            if owner and r is not None and r.json()["sales"]["invoice_count"] == 0:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{old} still held after 180 s: {r and r.text[:300]}\n{worker.log_tail()}")
            time.sleep(2)
        recent = [d for d in days if (today(tz) - d).days < 365] + [today(tz)]
        # a worker restarted on a long history may still be reading it
        eventually(lambda: recent_days_wrong(engine, worker, recent, tz), "recent days == SQL", 180, [worker])
    finally:
        worker.stop()
