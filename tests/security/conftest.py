"""Fixtures of the security tests: the edge integration tests' real edges, Kafka and PostgreSQL.

Every test here attacks a real `chinook-pulse edge` process (started by `edges`, against the real
Kafka), asserts the refusal, then asserts that the same edge still serves a normal client.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from tables.models import users
from tests.integration.api.conftest import (  # noqa: F401 (fixtures, found by pytest through this import)
    deltas,
    deltas_topic,
    edges,
    kafka_ok,
    tokens,
)
from tests.integration.conftest import engine, settings  # noqa: F401 (fixtures)
from tests.support.attacks import (
    TestUser,
)


@pytest.fixture
def own_user(engine: Any) -> Iterator[Any]:  # noqa: F811 (the fixture imported above)
    """`own_user(role)`: a user of this test alone with a fresh token (deleted after the test)."""
    from api.tokens import SqlTokenStore

    made: list[str] = []
    store = SqlTokenStore(engine=engine)

    def make(role: str = "admin") -> TestUser:
        email = f"security-{uuid.uuid4().hex[:10]}@chinook.test"
        with engine.begin() as conn:
            conn.execute(insert(users).values(name=f"Security {role}", email=email, role=role))
            user_id = conn.execute(select(users.c.id).where(users.c.email == email)).scalar_one()
        made.append(email)
        return TestUser(int(user_id), email, store.issue(email, "security tests"))

    yield make
    from tables.models import user_token

    with engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(users.c.id).where(users.c.email.in_(made)))]
        if ids:
            conn.execute(delete(user_token).where(user_token.c.user_id.in_(ids)))
            conn.execute(delete(users).where(users.c.id.in_(ids)))
