"""What every component of the stack is: a detached process with a health check.

A subclass says how to prepare, which command to run, which ports it takes and how to tell it is
healthy; `up`, `down` and `health` here do the rest (pid file, log file, port check, bounded waits).

After a crash (the recorded process killed, even with SIGKILL) `up` first stops what is left of the
component (`process.leftovers`), then starts it; `status` names the process that really holds each
port. A component with `external_ok` uses a healthy server already on its port that this stack did
not start (Kafka, Connect of another checkout), as PostgreSQL does.
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings

from .errors import StackError
from .ports import listening
from .process import RunPaths, describe, kill_all, leftovers, port_owner, read_pid, spawn, stop, wait_until


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Status:
    """One row of `chinook-pulse status`."""

    name: str
    pid: int | None
    state: str  # running | stopped | skipped | external | leftover
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
    #: A healthy server on its ports that this stack did not start is used as it is.
    external_ok: bool = False

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

    def leftovers(self, settings: Settings) -> list[int]:
        """Processes this stack started for the component that outlived its recorded process."""
        pid = self.pid(settings)
        return [p for p in leftovers(self.paths(settings)) if pid is None or p != pid]

    def held_ports(self, settings: Settings) -> list[tuple[str, str]]:
        """(`host:port`, who holds it) for each of its ports that something listens on."""
        held = []
        for host, port in self.ports(settings):
            if listening(host, port):
                owner = port_owner(host, port)
                held.append((f"{host}:{port}", describe(owner) if owner else "a process not visible here"))
        return held

    def _held(self, settings: Settings) -> str:
        return "; ".join(f"{where} held by {who}" for where, who in self.held_ports(settings))

    def external(self, settings: Settings) -> Health | None:
        """The health of a server on its ports that this stack did not start (None: none to use)."""
        if not self.external_ok or self.pid(settings) is not None or self.leftovers(settings):
            return None
        ports = self.ports(settings)
        if not ports or not all(listening(host, port) for host, port in ports[:1]):
            return None
        return self.check(settings)

    def status(self, settings: Settings) -> Status:
        reason = self.skip_reason(settings)
        pid = self.pid(settings)
        if pid is not None:
            return Status(self.name, pid, "running", self.check(settings))
        if reason:
            return Status(self.name, None, "skipped", Health(False, reason))
        left = self.leftovers(settings)
        if left:
            held = self._held(settings)
            detail = f"left over after a crash: {', '.join(describe(p) for p in left)}" + (f"; {held}" if held else "")
            return Status(self.name, None, "leftover", Health(False, detail + "; `chinook-pulse up` stops it"))
        outside = self.external(settings)
        if outside is not None:
            held = self._held(settings)
            return Status(self.name, None, "external", Health(outside.ok, f"{outside.detail} ({held})"))
        held = self._held(settings)
        return Status(self.name, None, "stopped", Health(False, f"not running; {held}" if held else "not running"))

    def up(self, settings: Settings) -> bool:
        """Start unless running; wait until healthy. True if this call started the process."""
        paths = self.paths(settings)
        if self.pid(settings) is not None:
            self._wait_healthy(settings, None)
            self.after_start(settings)
            return False
        left = self.leftovers(settings)
        if left:  # its recorded process died (a crash): what it left behind goes first
            kill_all(left, sig=self.stop_signal, timeout=self.stop_timeout)
        outside = self.external(settings)
        if outside is not None and outside.ok:
            self.after_start(settings)
            return False
        for where, who in self.held_ports(settings):
            unhealthy = f", unhealthy as a {self.name}: {outside.detail}" if outside is not None else ""
            raise StackError(
                f"{self.name}: port {where} is already taken by {who} (not this project's {self.name}{unhealthy}): "
                "stop it or change the setting"
            )
        self.prepare(settings)
        proc = spawn(paths, self.command(settings), env=self.env(settings), cwd=self.cwd(settings), user=self.user)
        self._wait_healthy(settings, proc)
        self.after_start(settings)
        return True

    def down(self, settings: Settings) -> bool:
        """Stop if running (signal, bounded wait, SIGKILL), and whatever it left. True if anything stopped."""
        stopped = stop(self.paths(settings), self.marker(settings), sig=self.stop_signal, timeout=self.stop_timeout)
        left = self.leftovers(settings)
        if left:
            kill_all(left, sig=self.stop_signal, timeout=self.stop_timeout)
        return stopped or bool(left)

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
