"""`up`, `down` and `status` over the component registry."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from schemas.settings import Settings

from .component import Status
from .errors import StackError
from .registry import COMPONENTS, NAMES, TRAFFIC, by_name

Say = Callable[[str], None]


def select(only: Sequence[str] | None) -> list[str]:
    """Component names in start order: all of them, or those in `only` (checked)."""
    if not only:
        return list(NAMES)
    unknown = sorted(set(only) - set(NAMES))
    if unknown:
        raise StackError(f"unknown component(s) {', '.join(unknown)}: choose from {', '.join(NAMES)}")
    return [name for name in NAMES if name in only]


def parse_only(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def up(
    settings: Settings,
    only: Sequence[str] | None = None,
    *,
    traffic: bool = True,
    started_file: Path | None = None,
    say: Say = print,
) -> list[str]:
    """Start what is selected and not running, in order; returns the names this call started.

    `started_file` is rewritten after every start, so it is right even when a later step fails.
    """
    names = [n for n in select(only) if traffic or n not in TRAFFIC]
    started: list[str] = []
    if started_file is not None:
        started_file.parent.mkdir(parents=True, exist_ok=True)
        started_file.write_text("")
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    for name in names:  # fail before anything starts: Java missing, jars missing...
        component = by_name(name)
        if component.skip_reason(settings) is None and component.pid(settings) is None:
            outside = component.external(settings)
            if outside is None or not outside.ok:
                component.preflight(settings)
    for name in names:
        component = by_name(name)
        reason = component.skip_reason(settings)
        if reason:
            say(f"{name:<10} skipped: {reason}")
            continue
        for need in component.needs:
            if need not in names and not by_name(need).status(settings).health.ok:
                raise StackError(f"{name} needs {need}, which is not healthy: chinook-pulse up --only {need}")
        begin = time.monotonic()
        if component.up(settings):
            started.append(name)
            if started_file is not None:
                started_file.write_text(",".join(started) + "\n")
            pid = component.pid(settings)
            say(f"{name:<10} started (pid {pid}) in {time.monotonic() - begin:.1f}s")
        else:
            pid = component.pid(settings)
            say(f"{name:<10} already running" + (f" (pid {pid})" if pid else " (external)"))
    return started


def down(settings: Settings, only: Sequence[str] | None = None, *, say: Say = print) -> list[str]:
    """Stop the selected components in reverse start order; returns the names stopped."""
    stopped: list[str] = []
    for name in reversed(select(only)):
        component = by_name(name)
        pid = component.pid(settings)
        if component.down(settings):
            stopped.append(name)
            say(f"{name:<10} stopped (pid {pid})")
    if not stopped:
        say("nothing of this project was running")
    return stopped


def status(settings: Settings) -> list[Status]:
    return [component.status(settings) for component in COMPONENTS]


def format_status(rows: Sequence[Status]) -> str:
    lines = [f"{'COMPONENT':<10} {'PID':>8}  {'STATE':<9} {'HEALTH':<7} DETAIL"]
    for row in rows:
        health = "ok" if row.health.ok else ("-" if row.state in ("stopped", "skipped") else "FAIL")
        pid = str(row.pid) if row.pid else "-"
        lines.append(f"{row.name:<10} {pid:>8}  {row.state:<9} {health:<7} {row.health.detail}")
    return "\n".join(lines)
