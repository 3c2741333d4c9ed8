"""The query API's answers that need no worker: auth, unknown table, bad parameters, workers down, OpenAPI."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.query.openapi import document
from api.tokens import MemoryTokenStore, User
from api.triggers import MemorySink
from schemas.settings import EdgeSettings, QuerySettings, Settings
from tests.support.ports import free_port

ROLES = ("admin", "analyst", "viewer")


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str]]]:
    monkeypatch.setenv("WORKER_URLS", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("QUERY_RETRY_SECONDS", "0.3")
    store = MemoryTokenStore()
    tokens = {role: store.add(User(i, role, f"{role}@chinook.test", role)) for i, role in enumerate(ROLES)}
    settings = Settings(pusher_app_secret=secrets.token_hex(16), edge=EdgeSettings(consume=False))
    app = create_app(settings, tokens=store, sink=MemorySink())
    with TestClient(app) as c:
        yield c, tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_and_roles(client: tuple[TestClient, dict[str, str]]) -> None:
    c, tokens = client
    r = c.get("/api/tables")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.get("/api/tables", headers=auth("cp_unknown")).status_code == 401
    r = c.get("/api/tables/sales", headers=auth(tokens["viewer"]))
    assert r.status_code == 403 and "admin or analyst" in r.json()["error"]
    for role in ("admin", "analyst"):
        listed = c.get("/api/tables", headers=auth(tokens[role]))
        assert listed.status_code == 200
        names = {t["name"] for t in listed.json()["tables"]}
        assert {"sales", "sales_by_country", "sales_by_genre", "popular_tracks", "latest_invoices"} <= names


def test_unknown_table_bad_range_and_workers_down(client: tuple[TestClient, dict[str, str]]) -> None:
    c, tokens = client
    h = auth(tokens["analyst"])
    r = c.get("/api/tables/nope", headers=h)
    assert r.status_code == 404
    assert r.json() == {"error": "unknown table 'nope'; GET /api/tables lists them", "status": 404}
    r = c.get("/api/tables/sales", params={"from": "2024-02-01", "to": "2024-01-01"}, headers=h)
    assert r.status_code == 400 and "range is empty" in r.json()["error"]
    r = c.get("/api/tables/sales", params={"window": "fortnight"}, headers=h)
    assert r.status_code == 400
    r = c.get("/api/tables/sales", headers=h)
    assert r.status_code == 503 and r.headers["retry-after"] == "5" and "no complete answer" in r.json()["error"]


def test_openapi_document_is_served_and_names_every_table(client: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = client
    doc = c.get("/openapi.json").json()
    assert doc == document(QuerySettings())
    op = doc["paths"]["/api/tables/{name}"]["get"]
    assert set(op["responses"]) == {"200", "400", "401", "403", "404", "503"}
    name = next(p for p in op["parameters"] if p["name"] == "name")
    assert "sales" in name["schema"]["enum"]
