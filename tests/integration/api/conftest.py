"""Fixtures of the edge's integration tests: real edges (uvicorn subprocesses), Kafka, PostgreSQL,
the real pusher-js under Node and raw websocket clients. Every wait is bounded and says what it
waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.settings import PROJECT_ROOT, Settings
from tests.support.edges import (
    APP_ID,
    KEY,
    METRICS_TOKEN,
    SECRET,
    Deltas,
    EdgeFactory,
    EdgeProcess,
    NodeDriver,
    _driver,
    cli,
)
from tests.support.services import START_HINT
from tests.support.workers import Isolation, Worker, wait_ready


@pytest.fixture
def isolation() -> Isolation:
    """Topic and state names of one test's own worker (tests/support/workers.py)."""
    return Isolation()


@pytest.fixture
def worker(isolation: Isolation, tmp_path: Path) -> Iterator[Worker]:
    """A real worker (with its sequencer) on `isolation`'s topics; edges send triggers to its `.in`."""
    started = Worker(isolation, tmp_path, "worker").start()
    try:
        wait_ready([started])
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def kafka_ok(settings: Settings) -> Settings:
    host, _, port = settings.kafka_bootstrap.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"Kafka at {settings.kafka_bootstrap} unreachable ({exc}): {START_HINT}")
    return settings


@pytest.fixture
async def deltas_topic(kafka_ok: Settings) -> AsyncIterator[str]:
    """A fresh deltas topic (3 partitions) per test, so each test sees only its own history."""
    topic = f"chinook.deltas.it-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_ok.kafka_bootstrap)
    await asyncio.wait_for(admin.start(), 30)
    try:
        await asyncio.wait_for(admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]), 30)
        yield topic
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.delete_topics([topic]), 30)
        with contextlib.suppress(Exception):  # the edges' control topic, when they made one
            await asyncio.wait_for(admin.delete_topics([f"{topic}.control"]), 30)
        with contextlib.suppress(Exception):  # the edges' bus (EDGE_BUS_TOPIC), if they made it
            await asyncio.wait_for(admin.delete_topics([topic + ".bus"]), 30)
    finally:
        await admin.close()


@pytest.fixture
async def edges(
    kafka_ok: Settings, deltas_topic: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[EdgeFactory]:
    """`await edges(name, **EDGE_SETTINGS)`: a started edge on `deltas_topic`; all stopped after the test.

    Overrides are edge settings (``max_connections=...`` or ``EDGE_MAX_CONNECTIONS=...``) or ``PUSHER_*``.
    """
    started: list[EdgeProcess] = []
    log_dir = tmp_path_factory.mktemp("edge-logs")

    async def start(name: str = "a", topic: str | None = None, **overrides: str) -> EdgeProcess:
        env = {
            **os.environ,
            "PUSHER_APP_ID": APP_ID,
            "PUSHER_APP_KEY": KEY,
            "PUSHER_APP_SECRET": SECRET,
            "DELTAS_TOPIC": topic or deltas_topic,
            "EDGE_CONTROL_TOPIC": f"{deltas_topic}.control",  # this test's edges only
            "EDGE_METRICS_TOKEN": METRICS_TOKEN,
            "EDGE_BUS_TOPIC": deltas_topic + ".bus",  # the edges of one test share a bus of their own
            "EDGE_ALLOWED_ORIGINS": "http://localhost:3000",
            "EDGE_READY_WAIT": "10",
            # a test that wants encrypted channels sets the key itself; never the one `make up` put in .env
            "PUSHER_ENCRYPTION_MASTER_KEY": os.environ.get("PUSHER_ENCRYPTION_MASTER_KEY", ""),
        }
        env.update(
            {
                k.upper() if k.upper().startswith(("EDGE_", "PUSHER_")) else f"EDGE_{k.upper()}": v
                for k, v in overrides.items()
            }
        )
        edge = EdgeProcess(name, env, log_dir)
        started.append(edge)
        return await edge.start()

    yield start
    errors = []
    for edge in started:
        try:
            edge.stop()
        except AssertionError as exc:
            errors.append(str(exc))
    assert not errors, errors


@pytest.fixture
async def deltas(kafka_ok: Settings, deltas_topic: str) -> AsyncIterator[Deltas]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_ok.kafka_bootstrap, acks="all", linger_ms=5)
    await asyncio.wait_for(producer.start(), 30)
    try:
        yield Deltas(producer, deltas_topic)
    finally:
        await producer.stop()


@pytest.fixture(scope="session")
def tokens(engine: Any) -> Iterator[dict[str, str]]:
    """A token per seeded user, issued through `chinook-pulse users token`, revoked afterwards."""
    issued: dict[str, str] = {}
    for role in ("admin", "analyst", "viewer"):
        result = subprocess.run(
            [*cli(), "users", "token", f"{role}@chinook.test", "--label", "edge integration tests"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=PROJECT_ROOT,
        )
        assert result.returncode == 0, f"users token failed: {result.stderr}"
        issued[role] = result.stdout.strip().splitlines()[-1]
    yield issued
    for token in issued.values():
        subprocess.run([*cli(), "users", "revoke", "--token-stdin"], input=token + "\n", text=True, timeout=60)


@pytest.fixture
async def node() -> AsyncIterator[NodeDriver]:
    """pusher-js clients (tests/js/driver.mjs)."""
    async with _driver("driver.mjs", "pusher-js") as driver:
        yield driver


@pytest.fixture
async def echo() -> AsyncIterator[NodeDriver]:
    """Laravel Echo clients, broadcaster pusher (tests/js/echo-driver.mjs)."""
    async with _driver("echo-driver.mjs", "laravel-echo") as driver:
        yield driver
