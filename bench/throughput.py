"""Worker throughput against a ceiling and a peer, on one synthetic Debezium workload.

    python -m bench throughput [--events 50000] [--repeat 3] [--worker-repeat 1] [--profile py-spy]

A fresh topic prefix (`bench-<id>.public.*`, 3 partitions each) gets the workload of
`bench.workload` (reference rows first). Then, one after the other, each contender reads it all
from the start with its own consumer group:

- `worker`: a real `chinook-pulse worker` (TOPIC_PREFIX, WORKER_ID, DELTAS_TOPIC, DLQ_TOPIC of its
  own; WORKER_ID also prefixes its internal topics) — every stage, table and delta of the pipeline;
- `ceiling`: a plain aiokafka consume-decode-aggregate loop (`bench.contenders ceiling`);
- `faust`: a bare Faust agent, the framework's floor (`bench.contenders faust`);
- `quix`: Quix Streams with a tumbling window (`bench.contenders quix`).

Done = the group's committed offsets reach the end of every topic it commits on (input and
internal topics: lag 0), three polls in a row. Rate = input records / (done - first commit
seen). Every contender's sales per hour is checked against the workload's exact answer (the
worker's through its web view `/pulse/days/{day}/`).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    CLI,
    CpuMeter,
    LagMonitor,
    Proc,
    create_topics,
    delete_topics_with_prefix,
    free_port,
    load,
    median,
    pyplot,
    results_dir,
    save_json,
    spy_on,
    stop_spy,
    table,
)
from bench.workload import CDC_TABLES, Workload, produce
from schemas.settings import get_settings

INPUT_TABLES = ("invoice", "invoice_line", "users")
CONTENDERS = ("worker", "ceiling", "faust", "quix")
#: The shortest worker run whose events/s the bench reports without a note (the issue: >= 30 s).
MIN_WORKER_S = 30.0


def worker_hourly(port: int, hours: list[int]) -> dict[int, int]:
    """The worker's sales per hour for the days of `hours`, read from its web view."""
    days = sorted({datetime.fromtimestamp(h * 3600, UTC).date() for h in hours})
    out: dict[int, int] = {}
    for day in days:
        for _ in range(60):
            r = httpx.get(f"http://127.0.0.1:{port}/pulse/days/{day.isoformat()}/", timeout=10)
            if r.status_code == 200:
                break
            time.sleep(0.5)
        r.raise_for_status()
        base = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) // 3600
        for i, money in enumerate(r.json()["sales"]["hourly"]):
            cents = int(Decimal(money) * 100)
            if cents:
                out[base + i] = cents
    return out


async def output_span(bootstrap: str, group: str) -> tuple[float, float, int]:
    """Wall times of the worker's first and last output: Kafka timestamps of its own topics.

    First: the earliest record of `<group>.partials` (the owner sends it right after its first
    batch). Last: the newest record of any topic named after the group (internal
    topics, table changelogs, deltas): when its last stage finished.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from schemas.kafka_meta import partitions_of

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = [t for t in await consumer.topics() if t.startswith(group)]
        tps = [TopicPartition(t, p) for t in topics for p in await partitions_of(consumer, t, 30)]
        consumer.assign(tps)
        begin, end = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        first, last = float("inf"), 0.0
        written = sum(end[tp] - begin[tp] for tp in tps if not tp.topic.endswith("__leader"))
        for tp in tps:
            wanted = []
            if tp.topic == f"{group}.partials" and end[tp] > begin[tp]:
                wanted.append(begin[tp])
            if end[tp] > begin[tp]:
                wanted.append(end[tp] - 1)
            for offset in wanted:
                consumer.seek(tp, offset)
                batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
                for r in batch.get(tp, []):
                    if tp.topic == f"{group}.partials" and offset == begin[tp]:
                        first = min(first, r.timestamp / 1000)
                    last = max(last, r.timestamp / 1000)
        return first, last, written
    finally:
        await consumer.stop()


def check(name: str, got: dict[int, int], expected: dict[int, int]) -> str:
    if got == expected:
        return "exact"
    wrong = [h for h in set(got) | set(expected) if got.get(h) != expected.get(h)]
    return f"{len(wrong)} of {len(expected)} hours differ"


async def run_one(
    name: str, prefix: str, run_id: str, n_input: int, expected: dict[int, int], timeout_s: float, profile: str | None
) -> dict[str, Any]:
    settings = get_settings()
    bootstrap = settings.kafka_bootstrap
    out = results_dir() / f"{run_id}-{name}.json"
    port = free_port()
    group = f"{run_id}-{name}"
    if name == "worker":
        env = {
            "TOPIC_PREFIX": prefix,
            "WORKER_ID": group,
            "DELTAS_TOPIC": f"{group}.deltas",
            "DLQ_TOPIC": f"{group}.dlq",
            "WORKER_WEB_PORT": str(port),
        }
        proc = Proc(group, [CLI, "worker", "--web-port", str(port), "--loglevel", "WARNING"], env)
    else:
        state_dir = tempfile.mkdtemp(prefix=f"bench-{name}-")
        argv = [sys.executable, "-m", "bench.contenders", name, "--prefix", prefix, "--bootstrap", bootstrap]
        proc = Proc(group, [*argv, "--group", group, "--out", str(out), "--state-dir", state_dir])
    monitor = await LagMonitor(bootstrap, group, [f"{prefix}.public.{t}" for t in INPUT_TABLES]).start()
    spy: subprocess.Popen[bytes] | None = None
    spawned = time.monotonic()
    spawned_wall = time.time()
    proc.start()
    meter = CpuMeter(proc.pid)
    cpu_s = float("nan")
    try:
        if profile == "py-spy" and name == "worker":
            spy = spy_on(proc.pid, f"{run_id}-{name}")
        times = await monitor.until_drained(n_input, proc, timeout_s)
        cpu_s = meter.cpu_fraction() * (time.monotonic() - meter.t0)
        load_at_end = load()
        if name == "worker":  # the merger applies the owners' last records a moment after the commits
            deadline = time.monotonic() + 30
            got = await asyncio.to_thread(worker_hourly, port, list(expected))
            while got != expected and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                got = await asyncio.to_thread(worker_hourly, port, list(expected))
    finally:
        stop_spy(spy)
        proc.stop()
        await monitor.stop()
    if name == "worker":
        first, last, written = await output_span(bootstrap, group)
    else:
        written = 0
        doc = json.loads(out.read_text()) if out.exists() else {"hours": {}, "first": 0, "last": 0}
        got = {int(h): c for h, c in doc["hours"].items()}
        first, last = doc["first"], doc["last"]
    busy = last - first
    samples = [(t - times["first"], done) for t, done in times["samples"]]  # type: ignore[union-attr]
    return {
        "name": name,
        "events": n_input,
        "startup_s": first - spawned_wall,
        "lag0_seen_after_last_s": (times["end"] - spawned) - (last - spawned_wall),
        "processing_s": busy,
        "events_per_s": n_input / busy if busy > 0 else float("nan"),
        "wall_events_per_s": n_input / (times["end"] - spawned),
        "check": check(name, got, expected),
        "cpu_s": cpu_s,
        "events_per_cpu_s": n_input / cpu_s,
        "records_written_per_event": written / n_input,
        "load": load_at_end,
        "samples": samples,
        "group": group,
    }


async def bench(
    events: int,
    repeat: int,
    profile: str | None,
    timeout_s: float,
    keep: bool,
    worker_repeat: int = 1,
    contenders: tuple[str, ...] = CONTENDERS,
) -> dict[str, Any]:
    unknown = set(contenders) - set(CONTENDERS)
    if unknown or "worker" not in contenders:
        raise SystemExit(f"--contenders: the worker and any of {', '.join(CONTENDERS[1:])}; not {sorted(unknown)}")
    settings = get_settings()
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    prefix = run_id
    workload = Workload(prefix)
    records = workload.build(events)
    expected = workload.expected_hourly()
    topic_of = {t: workload.topic(t) for t in CDC_TABLES}
    await create_topics(settings.kafka_bootstrap, topic_of.values(), settings.topic_partitions)
    produce_s = await produce(settings.kafka_bootstrap, records, topic_of)
    n_input = sum(1 for r in records if r.table in INPUT_TABLES)
    print(f"[throughput] {len(records):,} records ({n_input:,} on invoice/invoice_line/users) written to "
          f"{prefix}.public.* in {produce_s:.1f}s; {len(expected)} hours expected; {load()}", flush=True)  # fmt: skip
    runs: list[dict[str, Any]] = []
    try:
        for i in range(repeat):
            for name in [c for c in contenders if i < worker_repeat or c != "worker"]:
                res = await run_one(name, prefix, f"{run_id}-{i}", n_input, expected, timeout_s, profile)
                runs.append(res)
                print(f"[throughput] {name:8} run {i + 1}/{repeat}: {res['events_per_s']:>9,.0f} events/s "
                      f"({res['processing_s']:.1f}s after {res['startup_s']:.1f}s start-up), {res['check']}, "
                f"{res['cpu_s']:.1f} CPU-s, {res['records_written_per_event']:.1f} records written/event, "
                      f"{res['load']}", flush=True)  # fmt: skip
    finally:
        if not keep:
            await delete_topics_with_prefix(settings.kafka_bootstrap, [run_id])
    summary: dict[str, dict[str, float]] = {}
    for name in contenders:
        mine = [r for r in runs if r["name"] == name]
        summary[name] = {
            "events_per_s": median(r["events_per_s"] for r in mine),
            "processing_s": median(r["processing_s"] for r in mine),
            "startup_s": median(r["startup_s"] for r in mine),
            "events_per_cpu_s": median(r["events_per_cpu_s"] for r in mine),
        }
    worker = summary["worker"]["events_per_s"]
    if summary["worker"]["processing_s"] < MIN_WORKER_S:
        print(f"[throughput] note: the worker ran {summary['worker']['processing_s']:.1f}s, under the "
              f"{MIN_WORKER_S:.0f}s a throughput figure needs; raise --events", flush=True)  # fmt: skip
    rows = [
        [
            name,
            s["events_per_s"],
            s["processing_s"],
            s["startup_s"],
            s["events_per_s"] / worker,
            s["events_per_cpu_s"],
            s["events_per_cpu_s"] / summary["worker"]["events_per_cpu_s"],
            ", ".join(sorted({r["check"] for r in runs if r["name"] == name})),
        ]
        for name, s in summary.items()
    ]
    text = table(
        [
            "contender",
            "events/s (median)",
            "processing s",
            "start-up s",
            "x worker",
            "events/CPU-s",
            "x worker (CPU)",
            "sales/hour",
        ],
        rows,
    )
    print(f"\nWorker throughput: {n_input:,} input records, {repeat} run(s) each, {load()}\n{text}\n", flush=True)
    plot(runs, results_dir() / "throughput.png", n_input)
    ratios = {f"{name}_over_worker": summary[name]["events_per_s"] / worker for name in contenders if name != "worker"}
    if "faust" in summary:
        ratios["worker_over_bare_faust"] = worker / summary["faust"]["events_per_s"]
    result = {
        "run_id": run_id, "events": n_input, "records": len(records), "repeat": repeat, "summary": summary,
        "ratios": ratios,
        "runs": [{k: v for k, v in r.items() if k != "samples"} for r in runs], "table": text,
    }  # fmt: skip
    save_json("throughput.json", result)
    return result


def plot(runs: list[dict[str, Any]], path: Path, n_input: int) -> None:
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = {"worker": "tab:blue", "ceiling": "tab:green", "faust": "tab:purple", "quix": "tab:orange"}
    for r in runs:
        xs = [t for t, _ in r["samples"] if t >= -1]
        ys = [d for t, d in r["samples"] if t >= -1]
        ax1.plot(xs, ys, color=colors[r["name"]], label=r["name"], alpha=0.8)
    handles, labels = ax1.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    ax1.legend(uniq.values(), uniq.keys())
    ax1.set_xlabel("seconds since first commit")
    ax1.set_ylabel("input records committed (CDC topics)")
    ax1.set_title(f"progress ({n_input:,} records)")
    names = [n for n in CONTENDERS if any(r["name"] == n for r in runs)]
    rates = [median(r["events_per_s"] for r in runs if r["name"] == n) for n in names]
    ax2.bar(names, rates, color=[colors[n] for n in names])
    for i, v in enumerate(rates):
        ax2.text(i, v, f"{v:,.0f}", ha="center", va="bottom")
    ax2.set_yscale("log")
    ax2.set_ylabel("events/s (median, log)")
    ax2.set_title(f"throughput, {load()}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(args: Any) -> dict[str, Any]:
    contenders = tuple(c.strip() for c in args.contenders.split(",") if c.strip())
    return asyncio.run(
        bench(args.events, args.repeat, args.profile, args.timeout, args.keep, args.worker_repeat, contenders)
    )


_ = date  # re-exported for type checkers of callers
