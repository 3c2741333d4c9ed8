"""What every component of the stack is: a detached process with a health check.

A subclass says how to prepare, which command to run, which ports it takes and how to tell it is
healthy; `up`, `down` and `health` here do the rest (pid file, log file, port check, bounded waits).
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings

from .errors import StackError
from .ports import listening
from .process import RunPaths, read_pid, spawn, stop, wait_until


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Status:
    """One row of `chinook-pulse status`."""

    name: str
    pid: int | None
    state: str  # running | stopped | skipped | external
    health: Health


class Component:
    name: str = ""
    #: Components that must be healthy before this one starts.
    needs: tuple[str, ...] = ()
    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout: float = 30.0
    start_timeout: float = 60.0
    #: OS user to run as (None: the current user).
    user: str | None = None

    # -- what a subclass says -----------------------------------------------------------------
    def marker(self, settings: Settings) -> str:
        """A string found in the process's command line (guards against recycled pids)."""
        raise NotImplementedError

    def command(self, settings: Settings) -> list[str]:
        raise NotImplementedError

    def check(self, settings: Settings) -> Health:
        """Is the running component healthy? (Called only while its process is alive.)"""
        raise NotImplementedError

    def ports(self, settings: Settings) -> list[tuple[str, int]]:
        """Ports it listens on: taken by anything else, they make `up` fail fast."""
        return []

    def skip_reason(self, settings: Settings) -> str | None:
        """Why this component cannot run yet (None: it can)."""
        return None

    def preflight(self, settings: Settings) -> None:
        """Cheap checks run for every selected component before anything starts (tools, jars)."""

    def prepare(self, settings: Settings) -> None:
        """Render config, format storage... before the process starts."""

    def after_start(self, settings: Settings) -> None:
        """Runs once healthy, on every `up` (must be idempotent)."""

    def env(self, settings: Settings) -> dict[str, str] | None:
        return None

    def cwd(self, settings: Settings) -> Path | None:
        return None

    # -- what every component does ----------------------------------------------------------
    def paths(self, settings: Settings) -> RunPaths:
        return RunPaths(settings.run_dir, self.name)

    def pid(self, settings: Settings) -> int | None:
        return read_pid(self.paths(settings), self.marker(settings))

    def status(self, settings: Settings) -> Status:
        reason = self.skip_reason(settings)
        pid = self.pid(settings)
        if pid is None:
            if reason:
                return Status(self.name, None, "skipped", Health(False, reason))
            return Status(self.name, None, "stopped", Health(False, "not running"))
        return Status(self.name, pid, "running", self.check(settings))

    def up(self, settings: Settings) -> bool:
        """Start unless running; wait until healthy. True if this call started the process."""
        paths = self.paths(settings)
        if self.pid(settings) is not None:
            self._wait_healthy(settings, None)
            self.after_start(settings)
            return False
        for host, port in self.ports(settings):
            if listening(host, port):
                raise StackError(
                    f"{self.name}: port {host}:{port} is already taken by another process "
                    f"(not this project's {self.name}): stop it or change the setting"
                )
        self.prepare(settings)
        proc = spawn(paths, self.command(settings), env=self.env(settings), cwd=self.cwd(settings), user=self.user)
        self._wait_healthy(settings, proc)
        self.after_start(settings)
        return True

    def down(self, settings: Settings) -> bool:
        """Stop if running (signal, bounded wait, SIGKILL). True if a process was stopped."""
        return stop(self.paths(settings), self.marker(settings), sig=self.stop_signal, timeout=self.stop_timeout)

    def _wait_healthy(self, settings: Settings, proc: subprocess.Popen[bytes] | None) -> None:
        last: list[Health] = []

        def healthy() -> bool:
            health = self.check(settings)
            last[:] = [health]
            self.raise_if_broken(settings, health)
            return health.ok

        try:
            wait_until(
                f"{self.name} to be healthy",
                healthy,
                timeout=self.start_timeout,
                log_file=self.paths(settings).log_file,
                proc=proc,
            )
        except StackError as exc:
            detail = f" (last check: {last[0].detail})" if last and not last[0].ok else ""
            raise StackError(f"{exc}{detail}") from None

    def raise_if_broken(self, settings: Settings, health: Health) -> None:
        """Raise StackError at once if `health` says waiting longer cannot help."""
