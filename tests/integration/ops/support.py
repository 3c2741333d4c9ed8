"""Helpers of the ops commands' tests: run the real `chinook-pulse` CLI, read topics, wait for a group."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

from schemas.settings import PROJECT_ROOT
from tests.support.workers import CLI, Isolation


def cli(isolation: Isolation, *args: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    """`chinook-pulse ARGS` with the test's worker group and topics in its environment."""
    env = {**os.environ, **isolation.env()}
    return subprocess.run(
        [CLI, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )


def group_lag(isolation: Isolation) -> dict[str, Any]:
    """`chinook-pulse lag --json` for the test's worker group."""
    done = cli(isolation, "lag", "--json", "--edge", "http://127.0.0.1:9")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout)["group"])


def wait_caught_up(isolation: Isolation, topics: set[str], timeout_s: float = 180) -> None:
    """Bounded: the group has committed the end of every partition of `topics` it reads."""
    deadline = time.monotonic() + timeout_s
    behind: list[str] = ["not checked yet"]
    while time.monotonic() < deadline:
        rows = [r for r in group_lag(isolation)["partitions"] if r["topic"] in topics]
        behind = [f"{r['topic']}[{r['partition']}] lag {r['lag']}" for r in rows if r["lag"]]
        if rows and {r["topic"] for r in rows} == topics and not behind:
            return
        time.sleep(1)
    raise AssertionError(f"group {isolation.worker_id} not caught up on {sorted(topics)} in {timeout_s:.0f}s: {behind}")


def wait_group_empty(isolation: Isolation, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    members = -1
    while time.monotonic() < deadline:
        members = group_lag(isolation)["members"]
        if members == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"group {isolation.worker_id} still has {members} member(s) after {timeout_s:.0f}s")
