"""The supervisor starts a command again when it exits on its own, and stops with it on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ops import supervise

# Appends its pid to a file; the first run exits with 3 at once, later runs wait for a signal.
CHILD = """
import os, pathlib, sys, time
runs = pathlib.Path(sys.argv[1])
with runs.open("a") as f:
    f.write(f"{os.getpid()}\\n")
if len(runs.read_text().split()) == 1:
    sys.exit(3)
while True:
    time.sleep(0.1)
"""

SUPERVISOR = """
import sys
from ops import supervise
supervise.FIRST_PAUSE_S = 0.2
sys.exit(supervise.supervise([sys.executable, "-c", sys.argv[1], sys.argv[2]], "child"))
"""


def pids(runs: Path) -> list[int]:
    return [int(p) for p in runs.read_text().split()] if runs.exists() else []


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout_s}s")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_restart_pause_doubles_up_to_its_cap() -> None:
    assert [supervise.restart_pause(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert supervise.restart_pause(20) == supervise.LONGEST_PAUSE_S


def test_a_failed_or_killed_command_is_started_again_and_sigterm_stops_both(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, CHILD, str(runs)], cwd=root, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for("a second start after the exit with code 3", lambda: len(pids(runs)) == 2)
        second = pids(runs)[1]
        wait_for("the second run alive", lambda: alive(second))
        os.kill(second, signal.SIGKILL)
        wait_for("a third start after SIGKILL", lambda: len(pids(runs)) == 3)
        third = pids(runs)[2]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        wait_for("the command gone with its supervisor", lambda: not alive(third))
        _, err = proc.communicate(timeout=5)
        assert "exited with code 3; starting it again" in err
        assert "exited with code -9; starting it again" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


SLEEPER = """
import pathlib, sys, os, time
pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
while True:
    time.sleep(0.1)
"""


def test_a_sigkilled_supervisor_takes_its_command_down(tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR, SLEEPER, str(child_pid)], cwd=root)
    try:
        wait_for("the command started", lambda: child_pid.exists() and child_pid.read_text().strip() != "")
        child = int(child_pid.read_text())
        wait_for("the command alive", lambda: alive(child))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        wait_for("the command gone with its SIGKILLed supervisor", lambda: not alive(child), timeout_s=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
