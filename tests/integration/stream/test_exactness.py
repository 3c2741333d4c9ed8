"""The worker's tables and last deltas equal SQL on the source, through crashes and redelivery.

Each test runs real worker processes (fresh state and topics of their own) against the real
PostgreSQL, Kafka and Debezium, drives the store with the seeded simulator, and waits (bounded)
until everything equals the oracle in `tables.oracle`.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Engine

from ops.simulator import Simulator
from schemas.dead_letter import decode_dead_letter
from schemas.settings import Settings
from tests.support.oracle import assert_converges, channel_differences, read_topic, seq_problems
from tests.support.polling import eventually
from tests.support.workers import CLI, Isolation, Worker, wait_ready

#: A 600 s bound per test, generous on purpose: the convergence checks read every day and validate every
#: delta, which on a long-lived development stack (a long change history) takes minutes.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def run_traffic(engine: Engine, seed: int, count: int, rate: float) -> threading.Thread:
    def drive() -> None:
        Simulator(engine, seed=seed).run(rate, count=count)

    thread = threading.Thread(target=drive, name="simulator", daemon=True)
    thread.start()
    return thread


def join(thread: threading.Thread, timeout_s: float = 300) -> None:
    thread.join(timeout_s)
    assert not thread.is_alive(), f"the simulator did not finish within {timeout_s}s"


def test_oracle_after_random_traffic(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    workers.append(Worker(isolation, tmp_path, "w1").start())
    wait_ready(workers)
    join(run_traffic(engine, seed=11, count=300, rate=0))
    deltas = assert_converges(engine, settings, workers, isolation)
    assert not seq_problems(deltas)
    events = {(d["channel"], d["event"]) for d in deltas}
    assert ("private-admin.sales", "SaleCompleted") in events
    assert ("private-admin.invoices", "InvoiceCreated") in events


def test_oracle_survives_sigkill_of_the_worker(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    rng = random.Random(5)
    worker = Worker(isolation, tmp_path, "w1").start()
    workers.append(worker)
    wait_ready(workers)
    traffic = run_traffic(engine, seed=12, count=400, rate=25)
    for _ in range(3):
        time.sleep(rng.uniform(1.0, 4.0))
        worker.kill(signal.SIGKILL)
        worker.start()
    join(traffic)
    wait_ready(workers)
    deltas = assert_converges(engine, settings, workers, isolation)
    assert not seq_problems(deltas), seq_problems(deltas)


def test_oracle_survives_connect_crash_and_redelivery(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    workers.append(Worker(isolation, tmp_path, "w1").start())
    wait_ready(workers)
    traffic = run_traffic(engine, seed=13, count=250, rate=25)
    time.sleep(3)
    pid = int((settings.run_dir / "connect.pid").read_text().strip())
    subprocess.run(["kill", "-9", str(pid)], check=True)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists():  # gone before `up` looks at the pid file
        assert time.monotonic() < deadline, f"Kafka Connect (pid {pid}) still alive 30 s after SIGKILL"
        time.sleep(0.1)
    restarted = subprocess.run([CLI, "up", "--only", "connect"], capture_output=True, text=True, timeout=240)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    join(traffic)
    deltas = assert_converges(engine, settings, workers, isolation)
    assert not seq_problems(deltas), seq_problems(deltas)


def test_two_workers_share_the_work_and_survive_one_dying(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    first = Worker(isolation, tmp_path, "w1").start()
    second = Worker(isolation, tmp_path, "w2").start()
    workers += [first, second]
    wait_ready(workers)
    traffic = run_traffic(engine, seed=14, count=300, rate=25)
    time.sleep(5)
    second.kill(signal.SIGKILL)
    join(traffic)
    survivors = [first]
    deltas = assert_converges(engine, settings, survivors, isolation, timeout_s=240)
    assert not seq_problems(deltas), seq_problems(deltas)


def test_a_poison_record_goes_to_the_dead_letter_topic_and_tables_stay_right(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    poison_key = b'{"invoice_id": -1}'
    poison_value = b'{"op": "c", "after": {"invoice_id": "not a number"'  # truncated JSON

    async def produce() -> tuple[int, int]:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        await producer.start()
        try:
            meta = await producer.send_and_wait(settings.cdc_topic("invoice"), poison_value, key=poison_key)
            return meta.partition, meta.offset
        finally:
            await producer.stop()

    partition, offset = asyncio.run(produce())
    workers.append(Worker(isolation, tmp_path, "w1").start())
    wait_ready(workers)
    join(run_traffic(engine, seed=15, count=120, rate=0))
    deltas = assert_converges(engine, settings, workers, isolation)
    assert not seq_problems(deltas)
    assert workers[0].alive(), "the worker must carry on after a poison record"
    letters = [decode_dead_letter(json.dumps(v).encode()) for v in read_topic(settings, isolation.dlq_topic)]
    mine = [
        x
        for x in letters
        if (x.source_topic, x.partition, x.offset) == (settings.cdc_topic("invoice"), partition, offset)
    ]
    assert len(mine) == 1, letters
    assert mine[0].key == poison_key and mine[0].value == poison_value
    assert mine[0].reason  # a human-readable reason


def test_a_sigkilled_worker_restarted_at_once_serves_right_numbers_within_seconds(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    """Static membership and local state: a restarted worker keeps its partitions and reads only the
    changelog's tail, so every channel equals SQL again soon after the restart (15 s: a test bound,
    generous on purpose; `python -m bench recovery` measures the real time)."""
    worker = Worker(isolation, tmp_path, "w1").start()
    workers.append(worker)
    wait_ready(workers)
    join(run_traffic(engine, seed=17, count=150, rate=0))
    assert_converges(engine, settings, workers, isolation)
    traffic = run_traffic(engine, seed=18, count=60, rate=40)
    time.sleep(0.8)
    worker.kill(signal.SIGKILL)
    worker.start()
    restarted = time.monotonic()
    join(traffic)
    eventually(
        lambda: channel_differences(engine, settings, read_topic(settings, isolation.deltas_topic)),
        "every channel's last delta == SQL",
        timeout_s=15 - (time.monotonic() - restarted),
        workers=workers,
        every=0.5,
    )
    deltas = assert_converges(engine, settings, workers, isolation)
    assert not seq_problems(deltas), seq_problems(deltas)
