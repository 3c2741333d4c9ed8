"""`chinook-pulse worker --supervise` (what `chinook-pulse up` runs) starts a killed worker again."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ops.simulator import Simulator
from schemas.settings import Settings
from tests.support.oracle import assert_converges
from tests.support.workers import Isolation, Worker, wait_ready

pytestmark = pytest.mark.integration


def child_of(pid: int) -> int | None:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else None


def new_child(supervisor: int, old: int, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        child = child_of(supervisor)
        if child is not None and child != old:
            return child
        time.sleep(0.2)
    raise AssertionError(f"the supervisor started no new worker within {timeout_s}s")


def test_a_killed_worker_is_started_again_and_its_tables_stay_exact(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    worker = Worker(isolation, tmp_path, "supervised", supervised=True).start()
    workers.append(worker)
    wait_ready(workers)
    assert worker.proc is not None
    first = child_of(worker.proc.pid)
    assert first is not None, "the supervisor runs the worker as its child"
    Simulator(engine, seed=71).run(0, count=80)
    os.kill(first, signal.SIGKILL)
    second = new_child(worker.proc.pid, first)
    wait_ready(workers)
    Simulator(engine, seed=72).run(0, count=80)
    assert_converges(engine, settings, workers, isolation)
    assert worker.alive() and child_of(worker.proc.pid) == second
    assert "exited with code -9; starting it again" in worker.log_path.read_text(errors="replace")
