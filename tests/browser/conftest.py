"""Fixtures of the browser tests: a real worker (own topics), a real edge serving the page, real
PostgreSQL and Kafka, tokens issued by the CLI, and Debian's Chromium driven by playwright-core
under Node (tests/browser/driver.mjs). Every wait is bounded and says what it waited for.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Engine, create_engine, text

from schemas.settings import PROJECT_ROOT, Settings, get_settings
from tests.support.browser import (
    APP_ID,
    KEY,
    SCREENSHOTS,
    SECRET,
    WORKER_CATCH_UP_S,
    Browser,
    LoneEdge,
    Stack,
    _require_tools,
    wait_caught_up,
)
from tests.support.edges import EdgeProcess, cli
from tests.support.services import START_HINT
from tests.support.workers import Isolation, Worker, wait_ready


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_engine(settings.sqlalchemy_url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {settings.database_url} unreachable ({type(exc).__name__}): {START_HINT}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def stack(engine: Engine, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _require_tools()
    log_dir = tmp_path_factory.mktemp("browser-stack")
    isolation = Isolation()
    worker = Worker(isolation, log_dir, "worker").start()
    edge: EdgeProcess | None = None
    try:
        wait_ready([worker], timeout_s=180)
        env = {
            **os.environ,
            "PUSHER_APP_ID": APP_ID,
            "PUSHER_APP_KEY": KEY,
            "PUSHER_APP_SECRET": SECRET,
            "DELTAS_TOPIC": isolation.deltas_topic,
            "EDGE_TRIGGERS_TOPIC": isolation.deltas_topic + ".in",
            "EDGE_ALLOWED_ORIGINS": "127.0.0.1",
            "EDGE_READY_WAIT": "10",
        }
        edge = EdgeProcess("a", env, log_dir)
        asyncio.run(edge.start(within=60))
        stack = Stack(isolation, worker, edge, log_dir, env)
        wait_caught_up(settings, engine, stack, timeout_s=WORKER_CATCH_UP_S)
        yield stack
        edge = stack.edge
    finally:
        if edge is not None:
            edge.stop()
        worker.stop()


@pytest.fixture(scope="module")
def lone_edge(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoneEdge]:
    _require_tools()
    topic = f"chinook.deltas.it-page-{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await asyncio.wait_for(admin.start(), 30)
        try:
            await asyncio.wait_for(admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]), 30)
        finally:
            await admin.close()

    try:
        asyncio.run(create())
    except Exception as exc:
        pytest.fail(f"cannot create a topic on Kafka at {settings.kafka_bootstrap} ({exc!r}): {START_HINT}")
    log_dir = tmp_path_factory.mktemp("lone-edge")
    env = {
        **os.environ,
        "PUSHER_APP_ID": APP_ID,
        "PUSHER_APP_KEY": KEY,
        "PUSHER_APP_SECRET": SECRET,
        "PULSE_TIMEZONE": "UTC",
        "DELTAS_TOPIC": topic,
        "EDGE_TRIGGERS_TOPIC": topic + ".in",
        "EDGE_ALLOWED_ORIGINS": "127.0.0.1",
        "EDGE_READY_WAIT": "10",
    }
    edge = EdgeProcess("lone-a", env, log_dir)
    asyncio.run(edge.start(within=60))
    lone = LoneEdge(edge, topic, env, log_dir, settings.kafka_bootstrap)
    try:
        yield lone
    finally:
        lone.edge.stop()


@pytest.fixture(scope="module")
def tokens(engine: Engine) -> Iterator[dict[str, str]]:
    """A token for the seeded admin and viewer, issued through the CLI, revoked afterwards."""
    issued: dict[str, str] = {}
    for role in ("admin", "viewer"):
        result = subprocess.run(
            [*cli(), "users", "token", f"{role}@chinook.test", "--label", "browser tests"],
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


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    _require_tools()
    driver = Browser(tmp_path_factory.mktemp("browser") / "driver.log")
    try:
        driver.call("launch", within=60)
        yield driver
    finally:
        driver.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
