"""The query tests' library: a worker and an edge on one test's topics, and their HTTP clients."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.app import create_app
from api.tokens import SqlTokenStore
from api.triggers import MemorySink
from schemas.settings import EdgeSettings, QuerySettings, Settings
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


def edge_app(settings: Settings, workers: list[Worker]) -> Starlette:
    """The edge app, not consuming, its query API asking `workers`."""
    query = QuerySettings(worker_urls=[w.url for w in workers], query_retry_seconds=30)
    settings = settings.model_copy(
        update={"edge": EdgeSettings(consume=False), "query": query, "pusher_app_secret": secrets.token_urlsafe(32)}
    )
    return create_app(settings, tokens=SqlTokenStore(settings.sqlalchemy_url), sink=MemorySink())


def edge_client(settings: Settings, workers: list[Worker]) -> TestClient:
    return TestClient(edge_app(settings, workers))
