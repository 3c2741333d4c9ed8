"""`chinook-pulse rebuild`: recompute every table from the change topics, from the beginning.

Fresh state means fresh changelogs: with the worker group empty, it points the group's change-topic
offsets back to the beginning (and its internal topics' to 0), deletes the group's internal and
changelog topics, waits until Kafka has removed them, and deletes the workers' local state
(`.run/faust/<group>`: rocksdb copies of the tables on this machine; workers elsewhere must
delete theirs). The next worker to start recreates them
and rebuilds every table from the change topics; the SQL sink then rewrites every day it owns.

It refuses while workers are members of the group, unless `--stop-workers`: that stops the local
stack's worker (`chinook-pulse down --only worker`), waits for the group to empty, and starts
the worker again at the end (unless `--no-restart`). Workers it did not start must be stopped
by whoever runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka.structs import OffsetAndMetadata

from ops.kafka_io import GroupInfo, OpsError, admin, consumer, describe_group
from ops.progress import bar
from schemas.settings import get_settings

INTERNAL = ("control", "partials")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rebuild", help="recompute every table from the change topics (fresh state and changelogs)"
    )
    parser.add_argument("--group", help="the worker group (default WORKER_ID)")
    parser.add_argument("--stop-workers", action="store_true", help="stop the local stack's worker first")
    parser.add_argument("--no-restart", action="store_true", help="with --stop-workers: leave the worker stopped")
    parser.add_argument("--wait", type=float, default=90.0, help="seconds to wait for the group to empty")
    parser.set_defaults(func=run)


def cli() -> list[str]:
    script = Path(sys.executable).parent / "chinook-pulse"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ops.cli"]


async def stack(action: str, limit_s: float) -> subprocess.CompletedProcess[str]:
    """`chinook-pulse up|down --only worker`: the local stack starts and stops only what it started."""
    command = [*cli(), action, "--only", "worker"]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=limit_s)


def state_topics(group: str, topics: set[str]) -> list[str]:
    """The group's internal topics and Faust's changelog and leader topics."""
    internal = {f"{group}.{name}" for name in INTERNAL}
    faust = {t for t in topics if t.startswith(f"{group}-") and (t.endswith("-changelog") or t.endswith("__leader"))}
    return sorted((internal & topics) | faust)


def refusal(info: GroupInfo) -> str:
    members = "; ".join(f"{m.client_id} on {m.host}" for m in info.members)
    return (
        f"workers are running in group {info.group} ({len(info.members)}: {members}); stop them first, or pass"
        " --stop-workers to stop the local stack's worker"
    )


async def wait_empty(bootstrap: str, group: str, within: float) -> GroupInfo:
    deadline = time.monotonic() + within
    async with admin(bootstrap) as a:
        while True:
            info = await describe_group(a, group)
            if not info.members:
                return info
            if time.monotonic() > deadline:
                raise OpsError(f"the group did not empty within {within:.0f}s: " + refusal(info))
            await asyncio.sleep(1.0)


async def reset_offsets(bootstrap: str, group: str, doomed: set[str], keep: set[str]) -> dict[str, int]:
    """Commit the beginning of every change topic the group read, and 0 for the topics about to go."""
    async with admin(bootstrap) as a:
        committed = await a.list_consumer_group_offsets(group)
    tps = [tp for tp in committed if tp.topic not in keep]
    if not tps:
        return {}
    async with consumer(bootstrap, group_id=group) as c:
        begin = await c.beginning_offsets([tp for tp in tps if tp.topic not in doomed])
        offsets = {tp: OffsetAndMetadata(0 if tp.topic in doomed else begin[tp], "") for tp in tps}
        c.assign(list(offsets))
        await c.commit(offsets)
    reset: dict[str, int] = {}
    for tp in offsets:
        reset[tp.topic] = reset.get(tp.topic, 0) + 1
    return reset


async def delete_topics(bootstrap: str, topics: list[str], within: float = 120.0) -> None:
    if not topics:
        return
    async with admin(bootstrap) as a:
        await a.delete_topics(topics, timeout_ms=30_000)
        deadline = time.monotonic() + within
        with bar() as progress:
            task = progress.add_task("deleting state topics", total=len(topics))
            while True:
                left = set(topics) & set(await a.list_topics())
                progress.update(task, completed=len(topics) - len(left))
                if not left:
                    return
                if time.monotonic() > deadline:
                    raise OpsError(f"Kafka still lists {sorted(left)} {within:.0f}s after deleting them")
                await asyncio.sleep(0.5)


async def rebuild(args: argparse.Namespace) -> int:
    settings = get_settings()
    group = args.group or settings.worker_id
    bootstrap = settings.kafka_bootstrap
    stopped = False
    async with admin(bootstrap) as a:
        info = await describe_group(a, group)
        topics = set(await a.list_topics())
    if info.members:
        if not args.stop_workers:
            raise OpsError(refusal(info))
        down = await stack("down", 120)
        print(down.stdout.strip() or "stopped the stack's worker")
        stopped = down.returncode == 0
        await wait_empty(bootstrap, group, args.wait)
    doomed = state_topics(group, topics)
    reset = await reset_offsets(bootstrap, group, set(doomed), keep={settings.deltas_topic + ".in"})
    await delete_topics(bootstrap, doomed)
    local = settings.run_dir / "faust" / group
    if local.exists():
        shutil.rmtree(local)
        print(f"deleted local state {local}")
    for topic, n in sorted(reset.items()):
        where = "0 (topic deleted)" if topic in doomed else "the beginning"
        print(f"offsets of {group} on {topic}: {n} partition(s) set to {where}")
    for topic in doomed:
        print(f"deleted {topic}")
    print(
        f"rebuild ready: group {group} will recompute every table from the change topics"
        f" ({len(doomed)} state topic(s) deleted, offsets reset on {len(reset)} topic(s))"
    )
    if stopped and not args.no_restart:
        up = await stack("up", 300)
        print(up.stdout.strip())
        if up.returncode != 0:
            raise OpsError(f"the worker did not start again: {up.stderr.strip()[-500:]}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(rebuild(args))
    except OpsError as exc:
        print(f"chinook-pulse rebuild: {exc}", file=sys.stderr)
        return 3
