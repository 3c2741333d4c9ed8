"""Fixtures of the query API's tests: real workers (isolated group, topics and analytics schema),
a real token store in PostgreSQL, and the edge app in-process asking the workers over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, insert, text

from api.tokens import SqlTokenStore
from schemas.settings import Settings
from tables.models import users
from tests.support.query import Run
from tests.support.workers import Isolation


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
