"""End to end: COMMIT in PostgreSQL -> delta received by a websocket subscriber, at fixed rates.

    python -m bench e2e [--rates 10:20,100:15,1000:10]   (commits/s : seconds)

Needs PostgreSQL, Kafka and Connect with the Debezium connector (`chinook-pulse up --only
postgres,kafka,connect`). Starts its own worker (WORKER_ID/DELTAS_TOPIC/DLQ_TOPIC of its own, the
real `chinook.public.*` topics; its group's offsets are set to the topics' ends first, so it
skips the CDC history) and its own edge on that deltas topic, with an app secret made here. The
worker runs as deployed: its SQL sink writes a schema of its own (dropped afterwards), and the
measurements start once the sink has written what the worker had.
A raw websocket client speaking the Pusher protocol subscribes `private-admin.invoices`
(signature computed from the secret).

Each commit is one transaction inserting an invoice (billing_country 'Benchland') and one line,
one statement in autocommit, started on schedule (rate R for D seconds, several connections).
Latency = client receive time - the wall time just before that statement was sent, for the
invoice's `InvoiceCreated` frame. Where the time goes, per invoice, from timestamps on one clock:
  commit    : statement sent -> source.ts_ms (PostgreSQL's commit time, as Debezium reports it)
  debezium  : source.ts_ms -> Kafka timestamp of the CDC record (Connect's producer)
  worker    : CDC record timestamp -> Kafka timestamp of the sequenced delta on DELTAS_TOPIC
              (split: -> delta ts_ms, stamped when the aggregate published to DELTAS_TOPIC.in)
  edge      : delta's Kafka timestamp -> frame received by the client
Inserted rows are deleted afterwards.

Baseline: before the worker starts, a bare Faust agent (`bench.contenders faust --worker-reads`:
Faust's own per-event floor, reading in the worker's rounds) gets the same traffic at
`BASELINE_RATE` for as long, and its CPU per order is reported beside the worker's, from the
same run on the same machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from websockets.asyncio.client import connect

from bench.common import (
    CLI,
    CpuMeter,
    LagMonitor,
    Proc,
    delete_topics_with_prefix,
    free_port,
    load,
    pct,
    pyplot,
    results_dir,
    save_json,
    sole_worker,
    spy_on,
    stop_spy,
    table,
)
from schemas.settings import get_settings

KEY, SECRET, APP_ID = "bench-e2e-key", "bench-e2e-secret-" + uuid.uuid4().hex, "4243"
CHANNEL = "private-admin.invoices"
IDLE_S = 10.0  # the idle worker's CPU is measured over this long before the first rate
COUNTRY = "Benchland"
#: The rate at which a bare Faust agent's CPU per order is measured too (when the run has it).
BASELINE_RATE = 100.0


def cdc_topics(*tables: str) -> list[str]:
    """The CDC topics of `tables` (default: the owner's input, invoice, invoice_line and users)."""
    return [get_settings().cdc_topic(t) for t in tables or ("invoice", "invoice_line", "users")]


class Tail:
    """Records (from the end, all partitions) of one topic: key -> [(kafka ts, value)] via a callback."""

    def __init__(self, topic: str, on_record: Any) -> None:
        self.topic = topic
        self.on_record = on_record
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=get_settings().kafka_bootstrap, group_id=None, enable_auto_commit=False,
            fetch_max_wait_ms=20,
        )  # fmt: skip
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Tail:
        await self.consumer.start()
        client = self.consumer._client
        client.add_topic(self.topic)
        parts = None
        for _ in range(300):
            await client.force_metadata_update()
            parts = self.consumer.partitions_for_topic(self.topic)
            if parts:
                break
            await asyncio.sleep(0.2)
        assert parts, f"topic {self.topic} does not exist"
        tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:
            await self.consumer.position(tp)
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    if r.value is not None:
                        self.on_record(r)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        await self.consumer.stop()


class Subscriber:
    """A raw Pusher client on `CHANNEL`: the receive time of each `InvoiceCreated`; it answers the
    server's `pusher:ping` (as pusher-js does, or the edge closes an idle client) and keeps why its
    connection ended."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.received: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None
        self.ended: str | None = None

    async def start(self) -> Subscriber:
        self.ws = await connect(self.url, open_timeout=30, ping_interval=None, max_queue=None)
        hello = json.loads(await self.ws.recv())
        socket_id = json.loads(hello["data"])["socket_id"]
        sig = hmac.new(SECRET.encode(), f"{socket_id}:{CHANNEL}".encode(), hashlib.sha256).hexdigest()
        await self.ws.send(json.dumps({"event": "pusher:subscribe",
                                       "data": {"channel": CHANNEL, "auth": f"{KEY}:{sig}"}}))  # fmt: skip
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
            if frame["event"] == "pusher_internal:subscription_succeeded":
                break
            assert frame["event"] not in ("pusher:error", "pusher:subscription_error"), frame
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        try:
            async for message in self.ws:
                now = time.time()
                frame = orjson.loads(message)
                event = frame.get("event")
                if event == "InvoiceCreated":
                    data = orjson.loads(frame["data"])
                    self.received.setdefault(int(data["id"]), now)
                elif event == "pusher:ping":
                    await self.ws.send('{"event":"pusher:pong","data":{}}')
        finally:
            self.ended = f"closed: code {self.ws.close_code}, reason {self.ws.close_reason!r}"

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        await self.ws.close()


#: One order, one statement: the invoice and its line in one transaction (autocommit), one round
#: trip. Three (two INSERTs and a COMMIT) cost the driver and PostgreSQL about three times the CPU,
#: which at 500 orders/s took CPU from the worker on a 2-core box.
ORDER_SQL = (
    "WITH i AS (INSERT INTO invoice (customer_id, invoice_date, billing_country, total) "
    "VALUES (%s, (now() AT TIME ZONE 'UTC'), %s, %s) RETURNING invoice_id) "
    "INSERT INTO invoice_line (invoice_id, track_id, unit_price, quantity) "
    "SELECT invoice_id, %s, %s, 1 FROM i RETURNING invoice_id"
)


async def commit_at_rate(dsn: str, rate: float, seconds: float, conns: int) -> list[tuple[int, float, float]]:
    """(invoice_id, wall time before COMMIT, wall time after) of each commit, on schedule."""
    total = int(rate * seconds)
    out: list[tuple[int, float, float]] = []
    slot = 0
    began = time.monotonic() + 0.2
    lag_max = 0.0

    async def work() -> None:
        nonlocal slot, lag_max
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            await cur.execute("SELECT min(customer_id) FROM customer")
            customer = (await cur.fetchone())[0]  # type: ignore[index]
            await cur.execute("SELECT track_id, unit_price FROM track ORDER BY track_id LIMIT 1")
            track, price = await cur.fetchone()  # type: ignore[misc]
            while True:
                i = slot
                if i >= total:
                    return
                slot += 1
                delay = began + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    lag_max = max(lag_max, -delay)
                sent = time.time()  # the statement is the whole transaction: it commits when it ends
                await cur.execute(ORDER_SQL, (customer, COUNTRY, price, track, price))
                invoice_id = (await cur.fetchone())[0]  # type: ignore[index]
                out.append((invoice_id, sent, time.time()))

    await asyncio.gather(*(work() for _ in range(conns)))
    if lag_max > 0.05:
        print(f"[e2e] commit driver fell behind schedule by up to {lag_max * 1000:.0f} ms", flush=True)
    return out


async def cleanup(dsn: str) -> None:
    """Delete the bench's invoices. They are locked first: the simulator adds lines to recent
    invoices, and a line committed between the two deletes failed the second (foreign key)."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute("SELECT invoice_id FROM invoice WHERE billing_country = %s FOR UPDATE", (COUNTRY,))
        await conn.execute(
            "DELETE FROM invoice_line WHERE invoice_id IN (SELECT invoice_id FROM invoice WHERE billing_country = %s)",
            (COUNTRY,),
        )
        await conn.execute("DELETE FROM invoice WHERE billing_country = %s", (COUNTRY,))
        await conn.commit()


async def drop_schema(dsn: str, schema: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def wait_sink(port: int, proc: Proc, within: float = 120) -> None:
    """Until the worker's SQL sink has written every day it had (its first resync is done)."""
    deadline = time.monotonic() + within
    status: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=3) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"worker exited:\n{proc.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                status = (await client.get(f"http://127.0.0.1:{port}/pulse/sink/")).json()
                if status["enabled"] and not status["pending_days"] and not status["resync_pending"]:
                    return
            await asyncio.sleep(0.5)
    raise TimeoutError(f"the worker's SQL sink did not finish its first writes: {status}")


async def wait_edge(port: int, proc: Proc, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"edge exited:\n{proc.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"edge not ready:\n{proc.tail()}")


async def start_group_at_end(group: str, topics: list[str]) -> int:
    """Commit the end offsets of `topics` for `group`, so a new worker skips the CDC history.

    The latency of a new invoice's delta does not depend on the history (reference rows, which
    the worker reads without a group, are still read from the start); without this a fresh worker
    would first replay every change ever captured, which grows with every run.
    """
    from aiokafka.structs import OffsetAndMetadata

    from schemas.kafka_meta import partitions_of

    consumer = AIOKafkaConsumer(
        bootstrap_servers=get_settings().kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in await partitions_of(consumer, t, 60)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit({tp: OffsetAndMetadata(ends[tp], "") for tp in tps})
        return sum(ends.values())
    finally:
        await consumer.stop()


async def wait_seen(cdc: dict[int, Any], commits: list[tuple[int, float, float]], within: float = 60) -> None:
    """Until the CDC record of every commit was read from the invoice topic."""
    deadline = time.monotonic() + within
    while any(i not in cdc for i, _sent, _done in commits):
        if time.monotonic() > deadline:
            raise TimeoutError(f"CDC records of {sum(i not in cdc for i, _s, _d in commits)} commits not seen")
        await asyncio.sleep(0.05)


async def bare_faust_cpu(tag: str, rate: float, seconds: float, conns: int, cdc: dict[int, Any]) -> float:
    """CPU ms per order of a bare Faust agent given the worker's traffic at `rate` for `seconds`:
    from the first COMMIT until its group has committed every change (each order's CDC record read
    first). A probe order first proves the agent has joined its group and reads."""
    settings = get_settings()
    group = f"{tag}-faust"
    topics = cdc_topics()
    await start_group_at_end(group, topics)
    state_dir = tempfile.mkdtemp(prefix=f"{group}-")
    proc = Proc(group, [sys.executable, "-m", "bench.contenders", "faust", "--prefix", settings.topic_prefix,
                        "--group", group, "--bootstrap", settings.kafka_bootstrap, "--worker-reads",
                        "--out", str(results_dir() / "logs" / f"{group}.json"), "--state-dir", state_dir])  # fmt: skip
    proc.start()
    monitor = await LagMonitor(settings.kafka_bootstrap, group, topics[:2]).start()
    try:
        _lag, done, _seen = await monitor.lag()
        probe = await commit_at_rate(settings.database_url, 1, 1, 1)
        await wait_seen(cdc, probe)
        await monitor.until_drained(done + 1, proc, 120)
        cpu = CpuMeter(proc.pid)
        commits = await commit_at_rate(settings.database_url, rate, seconds, conns if rate > 50 else 1)
        await wait_seen(cdc, commits)
        await monitor.until_drained(0, proc, 120)
        return (cpu._cpu() - cpu.c0) * 1000 / len(commits)
    finally:
        await monitor.stop()
        proc.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


async def wait_worker(port: int, proc: Proc, group: str, within: float = 300) -> float:
    """Until the worker answers its web view and its group has no lag (it read the CDC history)."""
    settings = get_settings()
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=3) as client:
        while True:
            if not proc.alive():
                raise RuntimeError(f"worker exited:\n{proc.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/pulse/days/")).status_code == 200:
                    break
            if time.monotonic() - began > within:
                raise TimeoutError(f"worker not ready:\n{proc.tail()}")
            await asyncio.sleep(0.5)
    required = cdc_topics("invoice", "invoice_line")
    monitor = await LagMonitor(settings.kafka_bootstrap, group, required).start()
    try:
        await monitor.until_drained(0, proc, within)
    finally:
        await monitor.stop()
    return time.monotonic() - began


async def bench(rates: list[tuple[float, float]], conns: int, profile: bool = False) -> dict[str, Any]:
    settings = get_settings()
    tag = f"bench-e2e-{uuid.uuid4().hex[:6]}"
    deltas_topic = f"{tag}.deltas"
    sink_schema = tag.replace("-", "_")
    wport, eport = free_port(), free_port()
    worker = Proc(
        f"{tag}-worker",
        [CLI, "worker", "--web-port", str(wport), "--loglevel", "WARNING"],
        {"WORKER_ID": tag, "DELTAS_TOPIC": deltas_topic, "DLQ_TOPIC": f"{tag}.dlq", "WORKER_WEB_PORT": str(wport),
         "SINK_SCHEMA": sink_schema},
    )  # fmt: skip
    edge = Proc(
        f"{tag}-edge",
        [CLI, "edge", "--host", "127.0.0.1", "--port", str(eport), "--log-level", "warning"],
        {"PUSHER_APP_ID": APP_ID, "PUSHER_APP_KEY": KEY, "PUSHER_APP_SECRET": SECRET, "DELTAS_TOPIC": deltas_topic,
         "EDGE_ALLOWED_ORIGINS": "*"},
    )  # fmt: skip
    cdc: dict[int, tuple[int, int]] = {}  # invoice id -> (source.ts_ms, kafka ts)
    out: dict[int, tuple[int, int]] = {}  # invoice id -> (delta ts_ms, kafka ts)

    deleted: set[int] = set()  # bench invoices others deleted (the simulator edits recent invoices)

    def on_cdc(r: Any) -> None:
        if r.value is None:
            return
        v = orjson.loads(r.value)
        if v.get("op") == "c" and v["after"].get("billing_country") == COUNTRY:
            cdc[int(v["after"]["invoice_id"])] = (int(v["source"]["ts_ms"]), int(r.timestamp))
        elif v.get("op") == "d" and (v.get("before") or {}).get("billing_country") == COUNTRY:
            deleted.add(int(v["before"]["invoice_id"]))

    events_of: dict[int, list[str]] = {}  # invoice id -> the invoice events seen on the deltas topic

    def on_delta(r: Any) -> None:
        v = orjson.loads(r.value)
        if v.get("event") in ("InvoiceCreated", "InvoiceUpdated", "InvoiceDeleted"):
            events_of.setdefault(int(v["data"]["id"]), []).append(v["event"])
        if v.get("event") == "InvoiceCreated":
            out.setdefault(int(v["data"]["id"]), (int(v["ts_ms"]), int(r.timestamp)))

    rows: list[dict[str, Any]] = []
    series: dict[float, list[tuple[float, float]]] = {}
    dsn = settings.database_url
    await cleanup(dsn)
    tails: list[Tail] = []
    baseline: dict[float, float] = {}
    sub: Subscriber | None = None
    try:
        tails.append(await Tail(settings.cdc_topic("invoice"), on_cdc).start())
        for rate, seconds in rates:
            if rate == BASELINE_RATE and rate not in baseline:
                baseline[rate] = await bare_faust_cpu(tag, rate, seconds, conns, cdc)
                print(f"[e2e] bare Faust agent at {rate:g}/s: {baseline[rate]:.2f} ms CPU per order; {load()}",
                      flush=True)  # fmt: skip
        skipped = await start_group_at_end(tag, cdc_topics())
        print(f"[e2e] worker group starts at the end of the CDC topics ({skipped:,} records of history skipped)")
        worker.start()
        edge.start()
        caught_up = await wait_worker(wport, worker, tag)
        await wait_sink(wport, worker)
        await wait_edge(eport, edge)
        print(f"[e2e] worker caught up with the CDC topics in {caught_up:.1f}s; {load()}", flush=True)
        tails.append(await Tail(deltas_topic, on_delta).start())
        sub = await Subscriber(f"ws://127.0.0.1:{eport}/app/{KEY}?protocol=7&client=bench&version=1").start()
        idle = CpuMeter(worker.pid)
        await asyncio.sleep(IDLE_S)
        idle_pct = (idle._cpu() - idle.c0) / IDLE_S * 100
        print(f"[e2e] idle worker: {idle_pct:.1f} % of a core over {IDLE_S:g} s", flush=True)
        for rate, seconds in rates:
            cpu = CpuMeter(worker.pid)
            spy = spy_on(worker.pid, f"e2e-{rate:g}-worker") if profile else None
            try:
                commits = await commit_at_rate(dsn, rate, seconds, conns if rate > 50 else 1)
            finally:
                stop_spy(spy)
            achieved = len(commits) / (max(c[2] for c in commits) - min(c[1] for c in commits))
            deadline = time.monotonic() + 90

            due = [c[0] for c in commits]  # a frame deleted before it was published never comes
            while (  # noqa: ASYNC110
                time.monotonic() < deadline
                and sub.ended is None
                and any(i not in sub.received and i not in deleted for i in due)
            ):
                await asyncio.sleep(0.2)
            worker_cpu_s = cpu._cpu() - cpu.c0  # from the first COMMIT to the last frame received
            lat, parts = [], {"commit": [], "debezium": [], "worker": [], "worker_to_publish": [], "edge": []}
            for invoice_id, sent, _done in commits:
                got = sub.received.get(invoice_id)
                if got is None:
                    continue
                lat.append((got - sent) * 1000)
                if invoice_id in cdc and invoice_id in out:
                    src_ts, cdc_ts = cdc[invoice_id]
                    delta_ts, deltas_kafka_ts = out[invoice_id]
                    parts["commit"].append(src_ts - sent * 1000)
                    parts["debezium"].append(cdc_ts - src_ts)
                    parts["worker"].append(deltas_kafka_ts - cdc_ts)
                    parts["worker_to_publish"].append(delta_ts - cdc_ts)
                    parts["edge"].append(got * 1000 - deltas_kafka_ts)
            series[rate] = [(sent - commits[0][1], (sub.received[i] - sent) * 1000)
                            for i, sent, _ in commits if i in sub.received]  # fmt: skip
            gone = [i for i, _sent, _done in commits if i not in sub.received and i in deleted]
            row = {
                "rate": rate, "seconds": seconds, "commits": len(commits), "achieved_rate": achieved,
                "deleted_by_others": len(gone),
                "received": len(lat), "p50_ms": pct(lat, 0.5), "p95_ms": pct(lat, 0.95), "p99_ms": pct(lat, 0.99),
                "max_ms": max(lat) if lat else float("nan"),
                "worker_cpu_ms_per_order": worker_cpu_s * 1000 / len(commits),
                "faust_cpu_ms_per_order": baseline.get(rate),
                **{f"{k}_p50_ms": pct(v, 0.5) for k, v in parts.items()},
                **{f"{k}_p99_ms": pct(v, 0.99) for k, v in parts.items()},
                "load": load(),
            }  # fmt: skip
            rows.append(row)
            print(f"[e2e] {rate:>6g}/s x {seconds:g}s: achieved {achieved:,.0f}/s, {len(lat)}/{len(commits)} "
                  f"received, p50 {row['p50_ms']:.0f} p95 {row['p95_ms']:.0f} p99 {row['p99_ms']:.0f} max "
                  f"{row['max_ms']:.0f} ms; p50 commit {row['commit_p50_ms']:.0f} / debezium "
                  f"{row['debezium_p50_ms']:.0f} / worker {row['worker_p50_ms']:.0f} / edge {row['edge_p50_ms']:.0f}"
                  f" ms; worker CPU {row['worker_cpu_ms_per_order']:.2f} ms/order; {row['load']}",
                  flush=True)  # fmt: skip
            if gone:
                print(f"[e2e] {len(gone)} invoice(s) deleted by other traffic before their InvoiceCreated was "
                      f"published (no frame is due; not counted): {gone[:10]}", flush=True)  # fmt: skip
            if sub.ended is not None:
                print(f"[e2e] the subscriber's connection ended: {sub.ended}", flush=True)
            missing = [i for i, _sent, _done in commits if i not in sub.received and i not in deleted]
            if missing:  # say where each frame was lost: before the deltas topic, or after it
                where = {i: f"CDC {'yes' if i in cdc else 'no'}, deltas {events_of.get(i, [])}" for i in missing[:10]}
                print(f"[e2e] {len(missing)} InvoiceCreated frame(s) never received: {where}", flush=True)
            await asyncio.sleep(2)
    finally:
        if sub is not None:
            await sub.stop()
        for t in tails:
            await t.stop()
        edge.stop()
        worker.stop()
        await cleanup(dsn)
        await drop_schema(dsn, sink_schema)
        await delete_topics_with_prefix(settings.kafka_bootstrap, [tag])
    text = table(
        ["commits/s", "achieved/s", "received", "p50 ms", "p95 ms", "p99 ms", "max ms", "commit p50", "debezium p50",
         "worker p50", "edge p50", "worker p99", "edge p99", "worker CPU ms/order", "bare Faust CPU ms/order"],
        [[r["rate"], r["achieved_rate"], f"{r['received']}/{r['commits']}", r["p50_ms"], r["p95_ms"], r["p99_ms"],
          r["max_ms"], r["commit_p50_ms"], r["debezium_p50_ms"], r["worker_p50_ms"], r["edge_p50_ms"],
          r["worker_p99_ms"], r["edge_p99_ms"], r["worker_cpu_ms_per_order"],
          "" if r["faust_cpu_ms_per_order"] is None else r["faust_cpu_ms_per_order"]] for r in rows],
    )  # fmt: skip
    text += f"\nidle worker (no traffic, {IDLE_S:g} s before the first rate): {idle_pct:.1f} % of a core"
    print(f"\nEnd to end, COMMIT -> websocket frame ({load()}):\n{text}\n", flush=True)
    plot(rows, series)
    save_json("e2e.json", {"rows": rows, "table": text, "idle_cpu_pct": idle_pct})
    return {"rows": rows, "table": text, "idle_cpu_pct": idle_pct}


def plot(rows: list[dict[str, Any]], series: dict[float, list[tuple[float, float]]]) -> None:
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for rate, points in series.items():
        ax1.scatter([p[0] for p in points], [p[1] for p in points], s=3, label=f"{rate:g} commits/s")
    ax1.set_yscale("log")
    ax1.set_xlabel("seconds into the run")
    ax1.set_ylabel("COMMIT -> frame, ms (log)")
    ax1.legend()
    ax1.set_title("end-to-end latency per commit")
    labels = [f"{r['rate']:g}/s" for r in rows]
    bottom = [0.0] * len(rows)
    for part, color in (("commit", "tab:gray"), ("debezium", "tab:purple"), ("worker", "tab:blue"),
                        ("edge", "tab:green")):  # fmt: skip
        vals = [max(0.0, r[f"{part}_p50_ms"]) if r[f"{part}_p50_ms"] == r[f"{part}_p50_ms"] else 0 for r in rows]
        ax2.bar(labels, vals, bottom=bottom, color=color, label=part)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax2.set_ylabel("p50 ms per stage")
    ax2.set_title(f"where the time goes (p50), {load()}")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(results_dir() / "e2e.png", dpi=100)
    plt.close(fig)


def parse_rates(text: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in (p.split(":") for p in text.split(","))]


def main(args: Any) -> dict[str, Any]:
    with sole_worker():
        return asyncio.run(bench(parse_rates(args.rates), args.conns, args.profile))


_ = datetime, UTC
