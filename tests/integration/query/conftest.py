"""Fixtures of the query API's tests: real workers (isolated group, topics and analytics schema),
a real token store in PostgreSQL, and the edge app in-process asking the workers over HTTP."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, text
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.app import create_app
from api.tokens import SqlTokenStore
from api.triggers import MemorySink
from schemas.settings import EdgeSettings, QuerySettings, Settings
from tables.models import users
from tests.support.workers import Isolation, Worker


@dataclass
class Run:
    isolation: Isolation
    schema: str
    workers: list[Worker]

    def start(self, tmp_path: Path, n: int) -> list[Worker]:
        env = {"SINK_SCHEMA": self.schema, "SINK_INTERVAL": "0.5"}
        for i in range(n):
            self.workers.append(Worker(self.isolation, tmp_path, f"w{i + 1}", env=env).start())
        return self.workers


@pytest.fixture
def run(engine: Engine) -> Iterator[Run]:
    isolation = Isolation()
    r = Run(isolation, isolation.worker_id.replace("-", "_"), [])
    yield r
    for w in r.workers:
        w.stop()
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{r.schema}" CASCADE'))


@pytest.fixture(scope="module")
def tokens(engine: Engine, settings: Settings) -> Iterator[dict[str, str]]:
    """A token per role, of users made for this test (deleted after it)."""
    tag = uuid.uuid4().hex[:8]
    emails = {role: f"q-{role}-{tag}@chinook.test" for role in ("admin", "analyst", "viewer")}
    with engine.begin() as conn:
        for role, email in emails.items():
            conn.execute(insert(users).values(name=f"Query {role}", email=email, role=role))
    store = SqlTokenStore(settings.sqlalchemy_url)
    issued = {role: store.issue(email, "query-it") for role, email in emails.items()}
    store.close()
    yield issued
    with engine.begin() as conn:
        conn.execute(delete(users).where(users.c.email.in_(list(emails.values()))))


def edge_app(settings: Settings, workers: list[Worker]) -> Starlette:
    """The edge app, not consuming, its query API asking `workers`."""
    query = QuerySettings(worker_urls=[w.url for w in workers], query_retry_seconds=30)
    settings = settings.model_copy(
        update={"edge": EdgeSettings(consume=False), "query": query, "pusher_app_secret": secrets.token_urlsafe(32)}
    )
    return create_app(settings, tokens=SqlTokenStore(settings.sqlalchemy_url), sink=MemorySink())


def edge_client(settings: Settings, workers: list[Worker]) -> TestClient:
    return TestClient(edge_app(settings, workers))
