"""The one settings object: its parts read the same variables (and `.env`) as before they were folded in."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.settings import EdgeSettings, QuerySettings, Settings, SinkSettings, env_names


@pytest.fixture(autouse=True)
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No variable of ours set, and a working directory with no `.env`."""
    for name in env_names(Settings) | {"EDGE", "QUERY", "SINK"}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults() -> None:
    s = Settings()
    assert s.edge == EdgeSettings() and s.query == QuerySettings() and s.sink == SinkSettings()
    assert s.edge.consume and s.edge.max_connections == 10_000
    assert s.query.worker_urls == ["http://127.0.0.1:6066"]
    assert s.sink.enabled and s.sink.schema_name is None


def test_parts_read_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_MAX_CONNECTIONS", "7")
    monkeypatch.setenv("EDGE_ALLOWED_ORIGINS", "a.test, b.test:8080")
    monkeypatch.setenv("EDGE_CLIENT_EVENTS_CHANNELS", '["private-*"]')
    monkeypatch.setenv("WORKER_URLS", "http://w1:6066/,http://w2:6066")
    monkeypatch.setenv("QUERY_MAX_LIMIT", "55")
    monkeypatch.setenv("SINK_SCHEMA", "scratch")
    monkeypatch.setenv("SINK_ENABLED", "false")
    s = Settings()
    assert s.edge.max_connections == 7
    assert s.edge.allowed_origins == ["a.test", "b.test:8080"]
    assert s.edge.client_events_channels == ["private-*"]
    assert s.query.worker_urls == ["http://w1:6066", "http://w2:6066"]
    assert s.query.query_max_limit == 55
    assert (s.sink.schema_name, s.sink.enabled) == ("scratch", False)


def test_parts_read_dot_env(workdir: Path) -> None:
    (workdir / ".env").write_text("PUSHER_PORT=9\nEDGE_CONSUME=false\nQUERY_RETRY_SECONDS=0.5\nSINK_INTERVAL=3\n")
    s = Settings()
    assert s.pusher_port == 9
    assert s.edge.consume is False
    assert s.query.query_retry_seconds == 0.5
    assert s.sink.interval == 3.0


def test_a_part_is_not_a_variable(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("EDGE", "not json")
    monkeypatch.setenv("QUERY", '{"query_max_limit": 1}')
    (workdir / ".env").write_text('SINK={"enabled": false}\n')
    s = Settings()
    assert s.edge == EdgeSettings() and s.query.query_max_limit == 10_000 and s.sink.enabled


def test_a_part_is_overridden_by_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_MAX_CONNECTIONS", "7")
    s = Settings(edge=EdgeSettings(consume=False))
    assert s.edge.consume is False and s.edge.max_connections == 7
    copy = Settings().model_copy(update={"sink": SinkSettings(enabled=False)})
    assert copy.sink.enabled is False and copy.edge.consume
