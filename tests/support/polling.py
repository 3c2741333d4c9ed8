"""Bounded polling: wait until a check reports no problem, or fail with the last problems and the workers' logs."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from tests.support.workers import Worker


def eventually(
    check: Callable[[], list[str]],
    what: str,
    timeout_s: float = 120,
    workers: list[Worker] | None = None,
    explain: Callable[[list[str]], str] | None = None,
    every: float = 2.0,
) -> None:
    """Poll `check` (bounded) until it reports no problem; fail with the last problems (and `explain`'s account)."""
    deadline = time.monotonic() + timeout_s
    problems = ["not checked yet"]
    while time.monotonic() < deadline:
        try:
            problems = check()
        except OperationalError as exc:  # the shared database may be busy (a deadlock with another client)
            problems = [f"database: {exc.orig}"]
        if not problems:
            return
        time.sleep(every)
    stuck = "".join(f"\n--- {w.log_path.name}\n{w.log_tail(15)}\n--- its tasks\n{w.tasks()}" for w in workers or [])
    account = explain(problems) if explain is not None else ""
    raise AssertionError(
        f"{what} not reached in {timeout_s:.0f}s:\n" + "\n".join(p[:600] for p in problems[:10]) + account + stuck
    )
