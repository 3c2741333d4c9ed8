"""Recovery: SIGKILL the worker mid-traffic, restart it at once, time until every channel equals SQL.

    python -m bench recovery [--rounds 3] [--rate 50]

Needs PostgreSQL, Kafka and Connect (`chinook-pulse up --only postgres,kafka,connect`). Starts
its own worker (WORKER_ID/DELTAS_TOPIC of its own), which reads the whole CDC history first (its
numbers must equal SQL on everything). Each round commits orders (an invoice and a line each, `--rate` per second
for 4 s); 1.5 s in, the worker's process group gets SIGKILL and the worker is started again at
once (as the supervisor of `chinook-pulse up` would). Recovery = kill -> the first moment the
last `SalesUpdated`, `PopularTracksUpdated` and invoices-channel delta all equal SQL on the
source (polled every 100 ms). Reported: each round and the median.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from datetime import date
from typing import Any

import orjson
from sqlalchemy import create_engine

from bench.common import CLI, Proc, delete_topics_with_prefix, free_port, load, median, save_json, sole_worker, table
from bench.e2e import Tail, cleanup, commit_at_rate, wait_worker
from schemas.settings import get_settings
from tables import oracle
from tables.windows import today


def equal_to_sql(last: dict[tuple[str, str], Any], newest_invoices: Any, engine: Any, tz: str) -> bool:
    day: date = today(tz)
    with engine.connect() as conn:
        sales = last.get(("private-admin.sales", "SalesUpdated"))
        tracks = last.get(("private-admin.tracks", "PopularTracksUpdated"))
        return (
            sales == oracle.sales_of_day(conn, day, tz)
            and tracks == oracle.popular_tracks(conn, day, tz)
            and newest_invoices is not None
            and newest_invoices.get("latest") == oracle.latest_invoices(conn)
        )


async def bench(rounds: int, rate: float) -> dict[str, Any]:
    settings = get_settings()
    tag = f"bench-recovery-{uuid.uuid4().hex[:6]}"
    deltas_topic = f"{tag}.deltas"
    port = free_port()
    env = {"WORKER_ID": tag, "DELTAS_TOPIC": deltas_topic, "DLQ_TOPIC": f"{tag}.dlq", "WORKER_WEB_PORT": str(port)}
    worker = Proc(f"{tag}-worker", [CLI, "worker", "--web-port", str(port), "--loglevel", "INFO"], env)
    engine = create_engine(settings.sqlalchemy_url)
    dsn = settings.database_url
    last: dict[tuple[str, str], Any] = {}
    newest: dict[str, Any] = {}

    def on_delta(r: Any) -> None:
        v = orjson.loads(r.value)
        last[(v["channel"], v["event"])] = v["data"]
        if v["channel"] == "private-admin.invoices":
            newest["data"] = v["data"]

    await cleanup(dsn)
    worker.start()
    tail: Tail | None = None
    times: list[float] = []
    try:
        await wait_worker(port, worker, tag)
        tail = await Tail(deltas_topic, on_delta).start()
        for i in range(rounds):
            traffic = asyncio.ensure_future(commit_at_rate(dsn, rate, 4.0, 4))
            await asyncio.sleep(1.5)
            os.killpg(worker.pid, signal.SIGKILL)
            killed = time.monotonic()
            assert worker.popen is not None
            await asyncio.to_thread(worker.popen.wait, 30)
            worker.start()
            await traffic
            while not await asyncio.to_thread(equal_to_sql, last, newest.get("data"), engine, settings.pulse_timezone):
                if time.monotonic() - killed > 120:
                    raise TimeoutError(f"round {i + 1}: not equal to SQL 120 s after the kill\n{worker.tail()}")
                await asyncio.sleep(0.1)
            took = time.monotonic() - killed
            times.append(took)
            print(f"[recovery] round {i + 1}/{rounds}: every channel equal to SQL {took:.2f} s after SIGKILL; "
                  f"{load()}", flush=True)  # fmt: skip
            await asyncio.sleep(2)
    finally:
        if tail is not None:
            await tail.stop()
        worker.stop()
        await cleanup(dsn)
        await delete_topics_with_prefix(settings.kafka_bootstrap, [tag])
        engine.dispose()
    text = table(["round", "SIGKILL -> equal to SQL (s)"], [[i + 1, t] for i, t in enumerate(times)])
    text += f"\nmedian of {rounds}: {median(times):.2f} s"
    print(f"\nRecovery after SIGKILL ({rate:g} orders/s, {load()}):\n{text}\n", flush=True)
    result = {"rounds": times, "median_s": median(times), "rate": rate, "table": text}
    save_json("recovery.json", result)
    return result


def main(args: Any) -> dict[str, Any]:
    with sole_worker():
        return asyncio.run(bench(args.rounds, args.rate))
