"""What the workers hold and publish, compared with SQL on the source (the oracle), with bounded waits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from jsonschema import Draft202012Validator
from sqlalchemy import Engine, text

from ops import kafka_io
from schemas.kafka_meta import partitions_of
from schemas.settings import PROJECT_ROOT, Settings
from tables import oracle
from tables.windows import today
from tests.support.workers import Isolation, Worker

# -- reading what the workers published ------------------------------------------------


def read_topic(settings: Settings, topic: str, timeout_s: float = 60) -> list[dict[str, Any]]:
    """Every record of a topic (values JSON-decoded), in partition then offset order."""
    return [value for _, _, value in read_records(settings, topic, timeout_s) if value is not None]


def read_records(
    settings: Settings, topic: str, timeout_s: float = 60
) -> list[tuple[int, bytes | None, dict[str, Any] | None]]:
    """Every record of a topic as (partition, key, JSON-decoded value or None), in partition then offset order."""

    async def run() -> list[tuple[int, bytes | None, dict[str, Any] | None]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic, timeout_s)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            out: list[tuple[int, bytes | None, dict[str, Any] | None]] = []
            deadline = time.monotonic() + timeout_s
            while any([await consumer.position(tp) < ends[tp] for tp in tps]):
                if time.monotonic() > deadline:
                    raise AssertionError(f"reading {topic} took longer than {timeout_s}s")
                for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                    out += [(tp.partition, r.key, None if r.value is None else json.loads(r.value)) for r in records]
            return sorted(out, key=lambda record: record[0])  # stable: offsets stay in order
        finally:
            await consumer.stop()

    return asyncio.run(run())


# -- the oracle comparison ------------------------------------------------------------


def source_days(engine: Engine, tz: str) -> list[date]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT DISTINCT ((invoice_date AT TIME ZONE 'UTC') AT TIME ZONE :tz)::date FROM invoice ORDER BY 1"),
            {"tz": tz},
        )
        return [r[0] for r in rows]


def owner_answer(workers: list[Worker], path: str) -> dict[str, Any] | None:
    for w in workers:
        r = w.get(path)
        if r is not None and r.status_code == 200:
            return dict(r.json())
    return None


def differences(engine: Engine, settings: Settings, workers: list[Worker], deltas: list[dict[str, Any]]) -> list[str]:
    """Everything the live tables and the last deltas disagree with SQL on (empty: exact)."""
    return table_differences(engine, settings, workers) + channel_differences(engine, settings, deltas)


def table_differences(engine: Engine, settings: Settings, workers: list[Worker]) -> list[str]:
    """Every day's sales and tracks and the newest invoices the workers serve, against SQL."""
    tz = settings.pulse_timezone
    problems: list[str] = []
    with engine.connect() as conn:
        for day in sorted(set(source_days(engine, tz)) | {today(tz)}):
            got = owner_answer(workers, f"/pulse/days/{day.isoformat()}/")
            if got is None:
                problems.append(f"{day}: no worker answered")
                continue
            if got["sales"] != oracle.sales_of_day(conn, day, tz):
                problems.append(f"{day}: sales {got['sales']} != SQL {oracle.sales_of_day(conn, day, tz)}")
            if got["tracks"] != oracle.popular_tracks(conn, day, tz):
                problems.append(f"{day}: tracks {got['tracks']} != SQL {oracle.popular_tracks(conn, day, tz)}")
        expected_latest = oracle.latest_invoices(conn)
        latest = owner_answer(workers, "/pulse/latest/")
        if latest is None or latest["latest"] != expected_latest:
            problems.append(f"latest table {latest} != SQL {expected_latest}")
    return problems


def channel_differences(engine: Engine, settings: Settings, deltas: list[dict[str, Any]]) -> list[str]:
    """Each channel's last delta (what a dashboard shows) against SQL."""
    tz = settings.pulse_timezone
    problems: list[str] = []
    with engine.connect() as conn:
        expected_latest = oracle.latest_invoices(conn)
        last: dict[tuple[str, str], dict[str, Any]] = {}
        newest_invoices: dict[str, Any] | None = None
        for d in deltas:
            last[(d["channel"], d["event"])] = d
            newer = newest_invoices is None or d["seq"] > newest_invoices["seq"]
            if d["channel"] == "private-admin.invoices" and newer:
                newest_invoices = d
        day = today(tz)
        sales = last.get(("private-admin.sales", "SalesUpdated"))
        if sales is None or sales["data"] != oracle.sales_of_day(conn, day, tz):
            problems.append(f"last SalesUpdated {sales and sales['data']} != SQL {oracle.sales_of_day(conn, day, tz)}")
        tracks = last.get(("private-admin.tracks", "PopularTracksUpdated"))
        if tracks is None or tracks["data"] != oracle.popular_tracks(conn, day, tz):
            problems.append(f"last PopularTracksUpdated {tracks and tracks['data']} != SQL")
        if newest_invoices is None or newest_invoices["data"]["latest"] != expected_latest:
            problems.append(f"last invoices delta {newest_invoices} has not the SQL latest list {expected_latest}")
        users = last.get(("private-admin.users", "ActiveUsersUpdated"))
        if users is not None:
            as_of = datetime.fromisoformat(users["data"]["as_of"].replace("Z", "+00:00"))
            expected = oracle.active_users(conn, as_of)
            if users["data"]["count"] != expected and (datetime.now(UTC) - as_of).total_seconds() > 2:
                # the count is exact at as_of; a later change of the count would have been published
                problems.append(f"last ActiveUsersUpdated {users['data']} != SQL count {expected} at as_of")
        else:
            problems.append("no ActiveUsersUpdated published")
    return problems


def seq_problems(deltas: list[dict[str, Any]]) -> list[str]:
    """Per channel, seq must be 1, 2, 3, ... with no gap and no repeat."""
    by_channel: dict[str, list[int]] = {}
    for d in deltas:
        by_channel.setdefault(d["channel"], []).append(d["seq"])
    return [
        f"{channel}: seqs not 1..{len(seqs)} (first break near {next(i for i, s in enumerate(seqs, 1) if s != i)})"
        for channel, seqs in by_channel.items()
        if seqs != list(range(1, len(seqs) + 1))
    ]


DELTA_SCHEMAS = PROJECT_ROOT / "docs" / "deltas"


def contract_violations(deltas: list[dict[str, Any]]) -> list[str]:
    """Every delta must validate against the JSON Schema of its event (docs/deltas/*.schema.json)."""
    validators = {
        p.name.removesuffix(".schema.json"): Draft202012Validator(json.loads(p.read_text()))
        for p in DELTA_SCHEMAS.glob("*.schema.json")
    }
    problems = []
    for d in deltas:
        validator = validators.get(d.get("event", ""))
        if validator is None:
            problems.append(f"no schema for event {d.get('event')!r}")
            continue
        problems += [f"{d['event']} seq {d.get('seq')}: {e.message}" for e in validator.iter_errors(d)]
    return problems


GROUP_INPUTS = ("control",)  # the group reads these and the CDC topics; the merger reads without a group


def uncommitted(settings: Settings, isolation: Isolation) -> list[str]:
    """Partitions the worker group consumes whose committed offset is short of their end."""

    async def run() -> list[str]:
        topics = [settings.cdc_topic(t) for t in ("invoice", "invoice_line", "users")]
        topics += [f"{isolation.worker_id}.{name}" for name in GROUP_INPUTS]
        async with kafka_io.consumer(settings.kafka_bootstrap) as c:
            partitions = [TopicPartition(t, p) for t in topics for p in await partitions_of(c, t)]
            ends = await c.end_offsets(partitions)
        async with kafka_io.admin(settings.kafka_bootstrap) as a:
            committed = await a.list_consumer_group_offsets(isolation.worker_id)
        short = []
        for tp in sorted(ends, key=lambda t: (t.topic, t.partition)):
            done = committed[tp].offset if tp in committed else 0
            if done < ends[tp]:
                short.append(f"{tp.topic}[{tp.partition}]: committed {done} of {ends[tp]}")
        return short

    return asyncio.run(run())


def rebalance_repairs(workers: Iterable[Worker]) -> str:
    """Each live worker's `rebalance_repairs` counts (`/pulse/status/`)."""
    seen = []
    for w in workers:
        r = w.get("/pulse/status/") if w.alive() else None
        counts = r.json()["rebalance_repairs"] if r is not None and r.status_code == 200 else "-"
        seen.append(f"{w.log_path.stem}: {counts}")
    stalls = [f"{w.log_path.stem}: {line}" for w in workers for line in w.log_lines("stall guard:")]
    return "\n--- rebalance repairs: " + "; ".join(seen) + "".join(f"\n{line}" for line in stalls[:10])


def partial_trails(settings: Settings, isolation: Isolation, problems: list[str], days: int = 2) -> str:
    """For the first failing days: every value the owners sent for them (`partials`), per partition,
    as offset:kind:invoice_count. Tells a partition that never sent a day from one whose last value is wrong."""
    failing = sorted({p[:10] for p in problems if len(p) > 10 and p[4] == "-" and p[7] == "-"})[:days]
    if not failing:
        return ""
    lines: dict[str, list[str]] = {}
    for offset, (_, _, record) in enumerate(read_records(settings, f"{isolation.worker_id}.partials")):
        if record is None:
            continue
        kind = "snap" if record.get("snap") else "chg"
        for day in failing:
            values = record.get("days", {}).get(day)
            if values is not None:
                count = values["sum"][1] if values.get("sum") else 0
                lines.setdefault(f"{day} p{record['p']}", []).append(f"{offset}:{kind}:{count}")
    body = "\n".join(f"{k}: {v[-12:]}" for k, v in sorted(lines.items()))
    return "\n--- partials of " + ", ".join(failing) + " (offset:kind:invoice_count, last 12)\n" + body


def assert_commits_reach_the_end(
    settings: Settings, workers: list[Worker], isolation: Isolation, timeout_s: float = 90
) -> None:
    """Poll (bounded) until the group has committed every partition it reads to its end.

    Tables equal to SQL are not enough: a commit that stalls (or one that skipped events)
    shows here, before a restart would make it matter.
    """
    deadline = time.monotonic() + timeout_s
    short = ["not checked yet"]
    while time.monotonic() < deadline:
        short = uncommitted(settings, isolation)
        if not short:
            return
        time.sleep(1)
    logs = "\n".join(f"--- {w.log_path.name}\n{w.log_tail(15)}\n--- its tasks\n{w.tasks()}" for w in workers)
    raise AssertionError(f"offsets not committed to the end in {timeout_s:.0f}s:\n" + "\n".join(short[:15]) + logs)


def assert_converges(
    engine: Engine, settings: Settings, workers: list[Worker], isolation: Isolation, timeout_s: float = 180
) -> list[dict[str, Any]]:
    """Poll (bounded) until the workers' tables and last deltas equal SQL; fail with the differences."""
    deadline = time.monotonic() + timeout_s
    problems: list[str] = ["not checked yet"]
    deltas: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        deltas = read_topic(settings, isolation.deltas_topic)
        problems = differences(engine, settings, workers, deltas)
        if not problems:
            violations = contract_violations(deltas)
            assert not violations, "deltas break the documented contract:\n" + "\n".join(violations[:10])
            assert_commits_reach_the_end(settings, workers, isolation)
            return deltas
        time.sleep(2)
    logs = "\n".join(f"--- {w.log_path.name}\n{w.log_tail(15)}\n--- its tasks\n{w.tasks()}" for w in workers)
    trails = partial_trails(settings, isolation, problems) + rebalance_repairs(workers)
    raise AssertionError(f"not equal to SQL after {timeout_s:.0f}s:\n" + "\n".join(problems[:15]) + f"{trails}\n{logs}")
