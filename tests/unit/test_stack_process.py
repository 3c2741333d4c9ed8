"""Process supervision with real processes: pid files, markers, bounded stops and waits."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from ops.stack.apps import App
from ops.stack.errors import StackError
from ops.stack.process import RunPaths, alive, leftovers, log_tail, port_owner, read_pid, spawn, stop, wait_until
from schemas.settings import Settings
from tests.support.ports import free_port

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


# A component whose process starts a helper that holds a port and ignores its parent's death (as a
# child without a parent-death signal would): the helper is what a crash leaves behind.
PARENT = """
import subprocess, sys, time
helper = "import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
helper += f"s.bind(('127.0.0.1', {int(sys.argv[1])})); s.listen(); time.sleep(120)"
subprocess.Popen([sys.executable, "-c", helper, "helper-of-" + sys.argv[2]])
time.sleep(120)
"""


class PortHolder(App):
    name = "holder"
    subcommand = "holder"
    stop_timeout = 5.0
    start_timeout = 20.0

    def __init__(self, port: int) -> None:
        self.held_port = port

    def marker(self, settings: Settings) -> str:
        return f"holder-marker-{self.held_port}"

    def skip_reason(self, settings: Settings) -> str | None:
        return None

    def port(self, settings: Settings) -> tuple[str, int] | None:
        return ("127.0.0.1", self.held_port)

    def command(self, settings: Settings) -> list[str]:
        return [sys.executable, "-c", PARENT, str(self.held_port), self.marker(settings)]


def test_after_a_sigkill_status_names_the_leftover_and_up_replaces_it(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path / "run", _env_file=None)  # type: ignore[call-arg]
    holder = PortHolder(free_port())
    try:
        assert holder.up(settings)
        first = holder.pid(settings)
        assert first is not None
        helper = port_owner("127.0.0.1", holder.held_port)
        assert helper is not None and helper != first  # the port is held by the helper, the child
        assert holder.status(settings).health.ok
        os.kill(first, signal.SIGKILL)
        wait_until("the recorded pid gone", lambda: holder.pid(settings) is None, timeout=10)
        row = holder.status(settings)
        assert row.state == "leftover" and not row.health.ok
        assert f"pid {helper}" in row.health.detail and f"127.0.0.1:{holder.held_port} held by" in row.health.detail
        assert holder.up(settings)  # stops the leftover, starts anew
        assert not alive(helper)
        assert holder.status(settings).state == "running" and holder.status(settings).health.ok
    finally:
        holder.down(settings)
    assert leftovers(holder.paths(settings)) == []


def test_a_port_held_by_a_stranger_is_named_by_status_and_up(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path / "run", _env_file=None)  # type: ignore[call-arg]
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        holder = PortHolder(stranger.getsockname()[1])
        row = holder.status(settings)
        assert row.state == "stopped" and f"held by pid {os.getpid()}" in row.health.detail
        with pytest.raises(
            StackError, match=rf"port 127.0.0.1:{holder.held_port} is already taken by pid {os.getpid()}"
        ):
            holder.up(settings)
