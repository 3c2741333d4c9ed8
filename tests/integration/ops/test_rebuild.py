"""`chinook-pulse rebuild` after deliberately corrupted state gives the oracle's numbers again."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Engine

from ops.simulator import Simulator
from schemas.settings import Settings
from tests.integration.ops.support import cli, wait_group_empty
from tests.support.oracle import assert_converges, differences, read_topic, seq_problems
from tests.support.workers import Isolation, Worker, wait_ready

pytestmark = pytest.mark.integration


def corrupt_a_day(settings: Settings, isolation: Isolation) -> str:
    """What a buggy release could leave behind: a partition's record with a wrong total for a day,
    sent to the merger's input topic. Returns the day it corrupts."""
    topic = f"{isolation.worker_id}.partials"
    records = [r for r in read_topic(settings, topic) if r.get("days")]
    assert records, "the owners sent no records"
    last = records[-1]
    day = sorted(last["days"])[-1]
    values = {**last["days"][day], "sum": ["123456.78", 1]}
    bad = {"p": last["p"], "days": {day: values}, "invoices": {}, "users": {}, "events": []}

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, json.dumps(bad).encode())
        finally:
            await producer.stop()

    asyncio.run(send())
    return str(day)


def test_rebuild_recomputes_every_table_after_corrupted_state(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    workers.append(Worker(isolation, tmp_path, "w1").start())
    wait_ready(workers)
    Simulator(engine, seed=61).run(0, count=60)
    assert_converges(engine, settings, workers, isolation)

    day = corrupt_a_day(settings, isolation)
    deadline = time.monotonic() + 60
    wrong: list[str] = []
    while not wrong and time.monotonic() < deadline:  # bounded: the worker applies the bad fact quickly
        wrong = [p for p in differences(engine, settings, workers, []) if p.startswith(day)]
        time.sleep(0.5)
    assert wrong, f"the corrupted fact of {day} never showed in the worker's tables"

    refused = cli(isolation, "rebuild")
    assert refused.returncode == 3, refused
    assert "workers are running" in refused.stderr

    workers[0].stop()
    wait_group_empty(isolation)
    done = cli(isolation, "rebuild")
    assert done.returncode == 0, done.stderr
    assert "rebuild ready" in done.stdout
    assert f"deleted {isolation.worker_id}.partials" in done.stdout

    workers.append(Worker(isolation, tmp_path, "w2").start())
    wait_ready(workers[1:])
    Simulator(engine, seed=62).run(0, count=20)
    deltas = assert_converges(engine, settings, workers[1:], isolation, timeout_s=240)
    assert not seq_problems(deltas), seq_problems(deltas)
