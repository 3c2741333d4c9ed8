"""`chinook-pulse replay` copies exactly the records of a time range, partition by partition."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Engine

from ops.simulator import Simulator
from schemas.kafka_meta import partitions_of
from schemas.settings import Settings
from tests.integration.ops.support import cli
from tests.support.workers import Isolation

pytestmark = pytest.mark.integration

#: (key, value, timestamp) of one record
Copy = tuple[bytes | None, bytes | None, int]


def read_all(settings: Settings, topic: str) -> dict[int, list[Copy]]:
    """Every record of every partition of `topic`, in offset order (bounded)."""

    async def run() -> dict[int, list[Copy]]:
        c = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False)
        await c.start()
        try:
            tps = [TopicPartition(topic, p) for p in await partitions_of(c, topic, 30)]
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            ends = await c.end_offsets(tps)
            out: dict[int, list[Copy]] = {tp.partition: [] for tp in tps}
            for _ in range(600):
                if all([await c.position(tp) >= ends[tp] for tp in tps]):
                    return out
                for tp, records in (await c.getmany(timeout_ms=500)).items():
                    out[tp.partition] += [(r.key, r.value, r.timestamp) for r in records if r.offset < ends[tp]]
            raise AssertionError(f"reading {topic} did not reach its end offsets {ends}")
        finally:
            await c.stop()

    return asyncio.run(run())


def create_topic(settings: Settings, topic: str, partitions: int) -> None:
    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, partitions, 1)])
        finally:
            await admin.close()

    asyncio.run(run())


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def counts_printed(stdout: str, topic: str) -> dict[int, int]:
    pattern = re.compile(rf"^{re.escape(topic)}\[(\d+)\] offsets \[\d+, \d+\): (\d+) record\(s\)$", re.M)
    return {int(p): int(n) for p, n in pattern.findall(stdout)}


def test_replay_of_a_time_range_copies_exactly_its_records(
    engine: Engine, settings: Settings, isolation: Isolation
) -> None:
    source = settings.cdc_topic("invoice_line")
    Simulator(engine, seed=71).run(0, count=40)
    before = read_all(settings, source)
    stamps = sorted({ts for records in before.values() for _, _, ts in records})
    assert len(stamps) >= 10, f"too few distinct timestamps in {source} to choose a range"
    lo, hi = stamps[len(stamps) // 3], stamps[2 * len(stamps) // 3]
    want = {p: [r for r in records if lo <= r[2] < hi] for p, records in before.items()}
    assert sum(map(len, want.values())) > 0 and sum(map(len, want.values())) < sum(map(len, before.values()))

    window = ["--from-time", iso_ms(lo), "--to-time", iso_ms(hi)]
    dry = cli(isolation, "replay", source, *window, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert counts_printed(dry.stdout, source) == {p: len(r) for p, r in want.items()}, dry.stdout

    target = f"{isolation.worker_id}.replayed"
    create_topic(settings, target, len(before))
    done = cli(isolation, "replay", source, *window, "--to", target)
    assert done.returncode == 0, done.stderr
    assert f"replay done: {sum(map(len, want.values()))} record(s) copied" in done.stdout
    assert read_all(settings, target) == want  # per partition: the same records, in the same order


def test_replay_refuses_clearly(settings: Settings, isolation: Isolation) -> None:
    source = settings.cdc_topic("invoice")
    unknown = cli(isolation, "replay", "no.such.topic", "--dry-run")
    assert unknown.returncode == 2 and "unknown topic 'no.such.topic'" in unknown.stderr
    beyond = cli(isolation, "replay", source, "--from-offset", "0:999999999", "--dry-run")
    assert beyond.returncode == 2 and "offsets out of range" in beyond.stderr
    empty = cli(isolation, "replay", source, "--from-time", "2026-01-02", "--to-time", "2026-01-01", "--dry-run")
    assert empty.returncode == 2 and "time range is empty" in empty.stderr
    no_target = cli(isolation, "replay", source)
    assert no_target.returncode == 2 and "--to TARGET is required" in no_target.stderr
