"""Real `chinook-pulse worker` processes for a test: isolated names, logs, readiness."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from schemas.settings import PROJECT_ROOT
from tests.support.ports import free_port

CLI = str(Path(sys.executable).parent / "chinook-pulse")
#: The workers' log level (PULSE_TEST_LOGLEVEL=INFO shows the owner's and merger's steps).
LOGLEVEL = os.environ.get("PULSE_TEST_LOGLEVEL", "WARNING")


@dataclass
class Isolation:
    """Names that keep one test's worker state and deltas apart from every other run."""

    worker_id: str = field(default_factory=lambda: f"it-{uuid.uuid4().hex[:10]}")

    @property
    def deltas_topic(self) -> str:
        return f"{self.worker_id}.deltas"

    @property
    def dlq_topic(self) -> str:
        return f"{self.worker_id}.dlq"

    def env(self) -> dict[str, str]:
        return {"WORKER_ID": self.worker_id, "DELTAS_TOPIC": self.deltas_topic, "DLQ_TOPIC": self.dlq_topic}


class Worker:
    """One `chinook-pulse worker` process, logging to a file, killable at will."""

    def __init__(
        self,
        isolation: Isolation,
        log_dir: Path,
        name: str,
        env: dict[str, str] | None = None,
        supervised: bool = False,
    ) -> None:
        self.isolation = isolation
        self.extra_env = env or {}
        self.supervised = supervised
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Worker:
        env = {**os.environ, **self.isolation.env(), "WORKER_WEB_PORT": str(self.port), **self.extra_env}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                CLI,
                "worker",
                "--web-port",
                str(self.port),
                "--loglevel",
                os.environ.get("PULSE_TEST_LOGLEVEL", "WARNING"),
            ]
            + (["--supervise"] if self.supervised else []),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tasks(self, limit: int = 8000) -> str:
        """Where the worker's asyncio tasks wait (`/pulse/tasks/`): what a stalled worker is stuck on."""
        r = self.get("/pulse/tasks/")
        return "(no answer)" if r is None else r.text[:limit]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_lines(self, marker: str) -> list[str]:
        """The log's lines that contain `marker`."""
        try:
            return [line for line in self.log_path.read_text(errors="replace").splitlines() if marker in line]
        except OSError:
            return []

    def get(self, path: str) -> httpx.Response | None:
        try:  # one client per worker: a convergence check asks for every day of the store
            return _http.get(self.url + path, timeout=5)
        except httpx.HTTPError:
            return None


_http = httpx.Client()


def wait_ready(workers: Iterable[Worker], timeout_s: float = 240) -> None:
    """Every worker has restored its state (recovery done, no rebalance under way), or fail with its
    log and where its tasks wait. The bound stays under pytest's 300 s so that report is printed."""
    deadline = time.monotonic() + timeout_s
    for w in workers:
        status: object = None
        while True:
            if not w.alive():
                raise AssertionError(f"worker died at start-up:\n{w.log_tail()}")
            r = w.get("/pulse/status/")
            if r is not None and r.status_code == 200:
                status = r.json()
                if status["state_ready"]:  # type: ignore[index]
                    break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"worker not ready after {timeout_s:.0f}s: {status}\n{w.log_tail()}\n--- tasks\n{w.tasks()}"
                )
            time.sleep(0.5)
