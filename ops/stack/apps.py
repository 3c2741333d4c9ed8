"""The project's own long-running commands as components: simulator, worker, edge.

Each is `chinook-pulse <subcommand>`. One whose subcommand is not registered in `ops.cli` yet is
skipped with a note, so the worker and the edge switch on by themselves once their modules exist.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from schemas.settings import PROJECT_ROOT, Settings

from .component import Component, Health
from .errors import StackError
from .ports import listening
from .process import alive, describe, family, port_owner


def registered_commands() -> frozenset[str]:
    """The subcommands `chinook-pulse` knows now (command modules not written yet are left out)."""
    from ops import cli

    parser = argparse.ArgumentParser(add_help=False)
    subparsers = parser.add_subparsers()
    for name in cli.COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(subparsers)
    return frozenset(subparsers.choices)


def console_script() -> Path:
    script = Path(sys.executable).parent / "chinook-pulse"
    if not script.exists():
        raise StackError(f"{script} not found: install the project (make install)")
    return script


class App(Component):
    """`chinook-pulse <subcommand>`, healthy while alive (and, with a port, listening on it)."""

    subcommand: str = ""
    #: Seconds it must stay alive after start to count as started (when it has no port).
    settle: float = 2.0

    def port(self, settings: Settings) -> tuple[str, int] | None:
        return None

    def marker(self, settings: Settings) -> str:
        return f"chinook-pulse {self.subcommand}"

    def skip_reason(self, settings: Settings) -> str | None:
        if self.subcommand in registered_commands():
            return None
        return f"`chinook-pulse {self.subcommand}` is not registered yet"

    def ports(self, settings: Settings) -> list[tuple[str, int]]:
        port = self.port(settings)
        return [port] if port else []

    def command(self, settings: Settings) -> list[str]:
        return [str(console_script()), self.subcommand]

    def cwd(self, settings: Settings) -> Path | None:
        return PROJECT_ROOT  # so `.env` is read as by the user's own commands

    def check(self, settings: Settings) -> Health:
        pid = self.pid(settings)
        if pid is None or not alive(pid):
            return Health(False, "not running")
        port = self.port(settings)
        if port is None:
            return Health(True, "running")
        if not listening(*port):
            return Health(False, f"not listening on {port[0]}:{port[1]} yet")
        owner = port_owner(*port)
        if owner is not None and owner not in family(pid):  # the port is someone else's
            return Health(False, f"{port[0]}:{port[1]} held by {describe(owner)}, not by this {self.name}")
        return Health(True, f"listening on {port[0]}:{port[1]}" + (f" (pid {owner})" if owner else ""))

    def up(self, settings: Settings) -> bool:
        started = super().up(settings)
        if started and self.port(settings) is None:
            time.sleep(self.settle)  # a crash at start-up shows up here, not in the next `status`
            if self.pid(settings) is None:
                raise StackError(f"{self.name} exited right after start, see {self.paths(settings).log_file}")
        return started


class Simulator(App):
    name = "simulator"
    subcommand = "simulate"
    needs = ("postgres",)
    stop_timeout = 15.0


class Worker(App):
    name = "worker"
    subcommand = "worker"
    needs = ("kafka", "connect")
    start_timeout = 90.0

    def port(self, settings: Settings) -> tuple[str, int] | None:
        return ("127.0.0.1", settings.worker_web_port)

    def command(self, settings: Settings) -> list[str]:
        return [*super().command(settings), "--supervise"]  # a crashed worker is started again


class Edge(App):
    name = "edge"
    subcommand = "edge"
    needs = ("kafka",)

    def port(self, settings: Settings) -> tuple[str, int] | None:
        return (settings.pusher_host, settings.pusher_port)
