"""`.env.example` documents every setting the code reads from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings

from api.config import EdgeSettings
from api.query.config import QuerySettings
from schemas.settings import Settings
from stream.sink import SinkSettings

ROOT = Path(__file__).resolve().parents[2]


def documented() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#") and "=" in line}


def env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "") or ""
    return {
        str(f.validation_alias).upper() if isinstance(f.validation_alias, str) else (prefix + name).upper()
        for name, f in cls.model_fields.items()
    }


def test_every_setting_is_in_env_example() -> None:
    classes: list[type[BaseSettings]] = [Settings, EdgeSettings, QuerySettings, SinkSettings]
    missing = set().union(*(env_names(c) for c in classes)) - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_secrets_are_marked_as_development_defaults() -> None:
    text = (ROOT / ".env.example").read_text()
    assert "DEVELOPMENT DEFAULT" in text
    assert "PUSHER_APP_SECRET=dev-only-" in text
