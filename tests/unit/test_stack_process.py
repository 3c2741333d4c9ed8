"""Process supervision with real processes: pid files, markers, bounded stops and waits."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from ops.stack.errors import StackError
from ops.stack.process import RunPaths, alive, log_tail, read_pid, spawn, stop, wait_until

SLEEPER = "import time; time.sleep(60)"
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
)


def _spawn(paths: RunPaths, code: str, marker: str) -> int:
    proc = spawn(paths, [sys.executable, "-c", code, marker])
    return proc.pid


def test_spawn_writes_pid_and_log_and_stop_cleans_up(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path, "sleeper")
    pid = _spawn(paths, SLEEPER, "marker-sleeper")
    assert paths.pid_file.read_text().strip() == str(pid)
    assert read_pid(paths, "marker-sleeper") == pid
    assert os.getsid(pid) == pid  # detached: a session of its own
    assert "start:" in paths.log_file.read_text()
    assert stop(paths, "marker-sleeper", timeout=5)
    assert not alive(pid)
    assert not paths.pid_file.exists()
    assert not stop(paths, "marker-sleeper")  # already stopped: nothing to do


def test_pid_file_of_another_process_is_not_trusted(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path, "ghost")
    paths.pid_file.write_text(f"{os.getpid()}\n")  # alive, but without the marker
    assert read_pid(paths, "marker-that-pytest-lacks") is None
    assert not stop(paths, "marker-that-pytest-lacks")
    assert alive(os.getpid())
    paths.pid_file.write_text("not a pid\n")
    assert read_pid(paths, "x") is None


def test_stop_escalates_to_sigkill_after_the_timeout(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path, "stubborn")
    pid = _spawn(paths, STUBBORN, "marker-stubborn")
    wait_until("stubborn to be ready", lambda: "ready" in paths.log_file.read_text().splitlines(), timeout=10)
    begin = time.monotonic()
    assert stop(paths, "marker-stubborn", timeout=0.5)
    assert not alive(pid)
    assert time.monotonic() - begin < 5


def test_wait_until_times_out_naming_what_and_the_log(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    with pytest.raises(StackError, match=r"timed out after 0s waiting for the moon, see .*x\.log"):
        wait_until("the moon", lambda: False, timeout=0.2, log_file=log, interval=0.05)


def test_wait_until_reports_an_early_exit_with_the_log_tail(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path, "crasher")
    proc = spawn(paths, [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(3)"])
    with pytest.raises(StackError, match=r"exited with code 3.*boom: bad config"):
        wait_until("crasher", lambda: False, timeout=10, log_file=paths.log_file, proc=proc)


def test_log_tail_keeps_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "l.log"
    log.write_text("one\n\ntwo\nthree\n")
    assert log_tail(log, lines=2) == "two | three"
    assert log_tail(tmp_path / "missing.log") == ""
