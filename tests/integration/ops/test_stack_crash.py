"""`chinook-pulse up` after a SIGKILL of each supervised component: everything healthy, no orphan.

The stack under test has a run directory, ports, worker group and topics of its own; PostgreSQL,
Kafka and Connect are the running ones, which it uses as external servers and never stops.
Orphans are looked for through /proc: every process carrying this stack's tag must descend from a
pid the stack recorded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ops.stack.process import STACK_ENV
from schemas.settings import PROJECT_ROOT
from tests.support.ports import free_port
from tests.support.workers import CLI, Isolation

pytestmark = pytest.mark.integration

APPS = ("worker", "edge", "simulator")


def _proc_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return None if fields[0] == "Z" else int(fields[1])


def tagged(stack: str) -> set[int]:
    """Live pids whose environment names this stack (zombies and vanished processes left out)."""
    wanted = f"{STACK_ENV}={stack}".encode()
    found = set()
    for pid in _proc_pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ and _ppid(pid) is not None:
            found.add(pid)
    return found


def recorded(run_dir: Path) -> dict[str, int]:
    return {path.stem: int(path.read_text().strip()) for path in run_dir.glob("*.pid")}


def orphans(run_dir: Path) -> list[str]:
    """Tagged processes that do not descend, through tagged processes, from a recorded pid."""
    stack = str(run_dir.resolve())
    mine = tagged(stack)
    roots = set(recorded(run_dir).values())
    lost = []
    for pid in mine:
        walk: int | None = pid
        while walk is not None and walk not in roots and walk in mine:
            walk = _ppid(walk)
        if walk not in roots:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            lost.append(f"pid {pid} (parent {_ppid(pid)}): {cmd[:100]}")
    return lost


def descendants(pid: int) -> set[int]:
    below: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split() if _alive(parent) else []:
            below.add(int(child))
            frontier.append(int(child))
    return below


def _alive(pid: int) -> bool:
    return _ppid(pid) is not None


def wait_gone(pids: set[int], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: {sorted(p for p in pids if _alive(p))} still alive after {timeout_s:.0f}s")


class Stack:
    def __init__(self, tmp_path: Path, isolation: Isolation) -> None:
        self.run_dir = tmp_path / "run"
        self.env = {
            **os.environ,
            **isolation.env(),
            "RUN_DIR": str(self.run_dir),
            "WORKER_WEB_PORT": str(free_port()),
            "PUSHER_PORT": str(free_port()),
            "SIMULATOR_RATE": "1",
        }

    def cli(self, *args: str, timeout_s: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args], cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True, timeout=timeout_s, check=False
        )

    def up(self) -> str:
        done = self.cli("up")
        assert done.returncode == 0, f"up exited {done.returncode}:\n{done.stdout}\n{done.stderr}\n{self.logs()}"
        return done.stdout

    def status(self) -> dict[str, tuple[str, str, str]]:
        done = self.cli("status")
        assert done.returncode == 0, done.stderr
        rows = {}
        for line in done.stdout.splitlines()[1:]:
            name, _pid, state, health, *detail = line.split(maxsplit=4)
            rows[name] = (state, health, " ".join(detail))
        return rows

    def assert_healthy(self) -> None:
        rows = self.status()
        unhealthy = {name: row for name, row in rows.items() if row[1] != "ok"}
        assert not unhealthy, unhealthy
        for name in APPS:
            assert rows[name][0] == "running", rows[name]

    def logs(self) -> str:
        tails = []
        for name in APPS:
            log = self.run_dir / "logs" / f"{name}.log"
            if log.exists():
                tails.append(f"--- {name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(tails)


@pytest.mark.timeout(900)
def test_up_after_each_component_is_sigkilled(tmp_path: Path, isolation: Isolation) -> None:
    stack = Stack(tmp_path, isolation)
    try:
        stack.up()
        stack.assert_healthy()
        assert orphans(stack.run_dir) == []
        for name in APPS:
            pid = recorded(stack.run_dir)[name]
            below = descendants(pid)
            if name == "worker":
                assert below, "the worker's supervisor runs the Faust worker as its child"
            os.kill(pid, signal.SIGKILL)
            # Nothing outlives its supervisor: the Faust worker goes down with its SIGKILLed parent.
            wait_gone({pid, *below}, f"{name} and its children after SIGKILL", timeout_s=60)
            row = stack.status()[name]
            assert row[0] == "stopped" and row[1] != "ok", row
            out = stack.up()
            assert f"{name:<10} started" in out, out
            stack.assert_healthy()
            assert orphans(stack.run_dir) == [], f"after {name} was killed"
    finally:
        down = stack.cli("down")
        left = tagged(str(stack.run_dir.resolve()))
        assert down.returncode == 0, down.stderr
        assert not left, f"left running after down: {left}"
