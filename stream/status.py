"""`/pulse/status/`: is this worker's state complete, and how far behind is it (for ops and tests)."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

from stream.app import app, owner_input
from stream.merger import merger
from stream.ownership import state_ready
from stream.reference import reference, reference_ready
from stream.repairs import commit_guard, queue_pressure, rebalance_window

INPUT_TOPICS = frozenset(owner_input.topics)


def input_lag_by_partition() -> dict[tuple[str, int], int]:
    """Records not yet read, per assigned input partition `(topic, partition)`."""
    consumer = app.consumer
    read_offsets = getattr(consumer, "_read_offset", {})
    lag: dict[tuple[str, int], int] = {}
    for tp in sorted(app.assignor.assigned_actives()):
        if tp.topic not in INPUT_TOPICS:
            continue
        highwater = consumer.highwater(tp)
        read = read_offsets.get(tp)
        if highwater is not None:
            lag[(tp.topic, tp.partition)] = max(0, highwater - (read + 1 if read is not None else 0))
    return lag


def input_lag() -> dict[str, int]:
    """Records not yet read, per assigned input partition (`topic[partition]`)."""
    return {f"{topic}[{partition}]": n for (topic, partition), n in input_lag_by_partition().items()}


@app.page("/pulse/status/")
async def status_view(web: Any, request: Any) -> Any:
    return web.json(
        {
            "state_ready": state_ready(),
            "reference_ready": reference_ready.is_set(),
            "merger": merger.status(),
            "reference_rows": {
                "customers": len(reference.customers),
                "tracks": len(reference.tracks),
                "albums": len(reference.albums),
                "artists": len(reference.artists),
                "genres": len(reference.genres),
            },
            "input_lag": input_lag(),
            "rebalance_repairs": {
                "holes_reread": commit_guard.holes_reread,
                "late_recoveries_held": rebalance_window.late_recoveries_held,
                "refetches_after_clear": queue_pressure.refetches_after_clear,
            },
        }
    )


def await_chain(awaitable: Any) -> list[str]:
    """Where a suspended coroutine waits: its frame, then each coroutine it awaits, innermost last."""
    lines = []
    for _ in range(50):
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is not None:
            lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        inner = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
        if inner is None:
            if awaitable is not None and frame is None:
                lines.append(f"  awaiting {awaitable!r:.200}")
            break
        awaitable = inner
    return lines


def producer_state() -> str:
    """What Faust's Kafka producer holds: its buffer, batches per partition (with the leader the client
    knows), partitions with a request in flight. A flush waits for all of it."""
    out = [f"faust buffer: {app.producer.buffer.size} message(s)"]
    producer = getattr(app.producer, "_producer", None)
    if producer is None:
        return out[0] + "\nno aiokafka producer"
    accumulator = producer._message_accumulator
    sender = producer._sender
    cluster = producer.client.cluster
    out.append(f"in flight to nodes: {sorted(sender._in_flight)}; muted: {sorted(map(str, sender._muted_partitions))}")
    out.append(f"pending (sent, unanswered) batches: {len(accumulator._pending_batches)}")
    for tp, batches in sorted(accumulator._batches.items(), key=lambda item: str(item[0])):
        ages = [round(time.monotonic() - b._ctime, 1) for b in batches if hasattr(b, "_ctime")]
        leader = cluster.leader_for_partition(tp)
        out.append(f"  {tp.topic}[{tp.partition}]: {len(batches)} batch(es), leader {leader}, ages {ages}")
    sender_task = sender.sender_task
    out.append(f"sender task done: {sender_task.done() if sender_task else None}")
    return "\n".join(out)


def task_stacks() -> str:
    """Every pending asyncio task of the worker's event loops and where it waits (for a stalled worker)."""
    loops: dict[str, asyncio.AbstractEventLoop] = {"main": asyncio.get_running_loop()}
    for name, holder in (("consumer", getattr(app.consumer, "_thread", None)), ("producer", app.producer)):
        loop = getattr(holder, "thread_loop", None)
        if isinstance(loop, asyncio.AbstractEventLoop) and loop is not loops["main"]:
            loops[name] = loop
    out = io.StringIO()
    for name, loop in loops.items():
        for _ in range(5):  # another thread's loop may change its task set while it is read
            try:
                tasks = list(asyncio.all_tasks(loop))
                break
            except RuntimeError:
                tasks = []
        out.write(f"=== {name} loop: {len(tasks)} task(s)\n")
        for task in sorted(tasks, key=lambda t: t.get_name()):
            out.write(f"--- {task.get_name()}\n" + "\n".join(await_chain(task.get_coro())) + "\n")
    out.write("=== producer\n" + producer_state() + "\n")
    return out.getvalue()


@app.page("/pulse/tasks/")
async def tasks_view(web: Any, request: Any) -> Any:
    return web.text(task_stacks())
