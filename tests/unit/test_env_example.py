"""`.env.example` documents every setting the code reads from the environment."""

from __future__ import annotations

from pathlib import Path

from schemas.settings import EdgeSettings, QuerySettings, Settings, SinkSettings, env_names

ROOT = Path(__file__).resolve().parents[2]


def documented() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#") and "=" in line}


def test_the_parts_variables_are_settings_variables() -> None:
    names = env_names(Settings)
    for part in (EdgeSettings, QuerySettings, SinkSettings):
        assert env_names(part) <= names, part.__name__
    assert {"EDGE_CONSUME", "WORKER_URLS", "QUERY_MAX_LIMIT", "SINK_SCHEMA", "SINK_ENABLED"} <= names
    assert not {"EDGE", "QUERY", "SINK"} & names  # a part is no variable of its own


def test_every_setting_is_in_env_example() -> None:
    missing = env_names(Settings) - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_env_example_names_no_unknown_setting() -> None:
    unknown = documented() - env_names(Settings)
    assert not unknown, f"not read by Settings: {sorted(unknown)}"


def test_secrets_are_marked_as_development_defaults() -> None:
    text = (ROOT / ".env.example").read_text()
    assert "DEVELOPMENT DEFAULT" in text
    assert "PUSHER_APP_SECRET=dev-only-" in text
