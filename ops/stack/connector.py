"""The Debezium connector config: one JSON file for the local stack and docker-compose.

`infra/connect/chinook-postgres.json` has the shape of Connect's `POST /connectors` body (which
standalone Connect also reads from its command line). Its `${NAME}` placeholders are filled from
Settings (`connector_values`), so both stacks configure the connector from the same variables:
DATABASE_URL, TOPIC_PREFIX and TOPIC_PARTITIONS, plus the captured tables from `schemas.columns`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from schemas.columns import CAPTURED_TABLE_NAMES
from schemas.settings import Settings

from .errors import StackError
from .templates import INFRA_DIR, render

CONNECTOR_TEMPLATE = INFRA_DIR / "connect" / "chinook-postgres.json"

#: The Settings fields (as environment variables) the connector config is made from.
CONNECTOR_SETTINGS: tuple[str, ...] = ("DATABASE_URL", "TOPIC_PREFIX", "TOPIC_PARTITIONS")


def table_include_list(tables: tuple[str, ...] = CAPTURED_TABLE_NAMES) -> str:
    """Debezium's `table.include.list`: every captured table, schema-qualified."""
    return ",".join(f"public.{name}" for name in tables)


def connector_values(settings: Settings) -> dict[str, str]:
    """The value of every placeholder of the connector template, from `settings`."""
    url = make_url(settings.sqlalchemy_url)
    return {
        "DATABASE_HOST": url.host or "127.0.0.1",
        "DATABASE_PORT": str(url.port or 5432),
        "DATABASE_USER": url.username or "postgres",
        "DATABASE_PASSWORD": url.password if isinstance(url.password, str) else "",
        "DATABASE_NAME": url.database or "chinook",
        "TOPIC_PREFIX": settings.topic_prefix,
        "TOPIC_PARTITIONS": str(settings.topic_partitions),
        "TABLE_INCLUDE_LIST": table_include_list(),
    }


def load_template(path: Path = CONNECTOR_TEMPLATE) -> dict[str, Any]:
    """The template as parsed JSON: `{"name": ..., "config": {...}}`."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data.get("name"), str) or not isinstance(data.get("config"), dict):
        raise StackError(f"{path}: expected {{'name': str, 'config': {{...}}}}")
    return data


def render_connector(settings: Settings, path: Path = CONNECTOR_TEMPLATE) -> dict[str, Any]:
    """The connector (name and config) with every placeholder filled.

    Values are substituted inside the parsed JSON strings, so a password with quotes stays valid.
    """
    data = load_template(path)
    values = connector_values(settings)
    config = {key: render(str(value), values, source=f"{path.name}: {key}") for key, value in data["config"].items()}
    return {"name": data["name"], "config": config}


def connector_name(path: Path = CONNECTOR_TEMPLATE) -> str:
    name: str = load_template(path)["name"]
    return name
