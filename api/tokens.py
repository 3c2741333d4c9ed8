"""API tokens of dashboard users: issued once, stored as sha256 only, revocable."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, create_engine, func, insert, select, update
from starlette.concurrency import run_in_threadpool

from tables.models import user_token, users


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    email: str
    role: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "cp_" + secrets.token_urlsafe(32)


class TokenStore(Protocol):
    async def user_for_token(self, token: str) -> User | None: ...

    async def revoked(self, hashes: set[str]) -> set[str]:
        """Those of the token `hashes` (sha256) that no longer grant access."""
        ...


class MemoryTokenStore:
    """Tokens held in memory (unit tests)."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}

    def add(self, user: User, token: str | None = None) -> str:
        token = token or new_token()
        self._users[hash_token(token)] = user
        return token

    def revoke(self, token: str) -> None:
        self._users.pop(hash_token(token), None)

    async def user_for_token(self, token: str) -> User | None:
        return self._users.get(hash_token(token))

    async def revoked(self, hashes: set[str]) -> set[str]:
        return {h for h in hashes if h not in self._users}


class UnknownUser(LookupError):
    pass


class SqlTokenStore:
    """Tokens in PostgreSQL (`users`, `user_token`)."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        if engine is None:
            if url is None:
                raise ValueError("SqlTokenStore needs a url or an engine")
            engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
        self.engine = engine

    def lookup(self, token: str) -> User | None:
        query = (
            select(users.c.id, users.c.name, users.c.email, users.c.role)
            .join(user_token, user_token.c.user_id == users.c.id)
            .where(user_token.c.token_sha256 == hash_token(token), user_token.c.revoked_at.is_(None))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else User(id=row.id, name=row.name, email=row.email, role=row.role)

    async def user_for_token(self, token: str) -> User | None:
        return await run_in_threadpool(self.lookup, token)

    def valid_hashes(self, hashes: set[str]) -> set[str]:
        """Those of the token `hashes` that are stored and not revoked."""
        query = select(user_token.c.token_sha256).where(
            user_token.c.token_sha256.in_(sorted(hashes)), user_token.c.revoked_at.is_(None)
        )
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(query)}

    async def revoked(self, hashes: set[str]) -> set[str]:
        return hashes - await run_in_threadpool(self.valid_hashes, hashes)

    def issue(self, email: str, label: str | None = None) -> str:
        """A new token for the user with ``email``; only its sha256 is stored."""
        token = new_token()
        with self.engine.begin() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
            if user_id is None:
                raise UnknownUser(email)
            conn.execute(insert(user_token).values(user_id=user_id, token_sha256=hash_token(token), label=label))
        return token

    def revoke_token(self, token: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(user_token)
                .where(user_token.c.token_sha256 == hash_token(token), user_token.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )
        return int(result.rowcount or 0)

    def revoke_user(self, email: str) -> int:
        with self.engine.begin() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
            if user_id is None:
                raise UnknownUser(email)
            result = conn.execute(
                update(user_token)
                .where(user_token.c.user_id == user_id, user_token.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )
        return int(result.rowcount or 0)

    def close(self) -> None:
        self.engine.dispose()
