"""docker-compose.yml and the local stack: one connector file, the same topics, the same variables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.stack.connector import CONNECTOR_SETTINGS, CONNECTOR_TEMPLATE, render_connector
from ops.stack.kafka import SERVER_TEMPLATE
from schemas.settings import PROJECT_ROOT, Settings, env_names

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
DEFAULT = re.compile(r"^\$\{(?P<name>[A-Z_]+):-(?P<default>[^}]*)\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in env_names(Settings):
        monkeypatch.delenv(name, raising=False)


def _resolve(value: object) -> str:
    """A compose value with `${NAME:-default}` taken at its default."""
    match = DEFAULT.match(str(value))
    return match.group("default") if match else str(value)


def _app_env(compose: dict[str, Any]) -> dict[str, str]:
    return {key: _resolve(value) for key, value in compose["x-settings"].items()}


def _command(compose: dict[str, Any], service: str) -> str:
    """The command line a project service runs: the image's entrypoint (`chinook-pulse`) and its args."""
    entrypoint = re.search(r'^ENTRYPOINT \["([^"]+)"\]$', (PROJECT_ROOT / "Dockerfile").read_text(), re.M)
    assert entrypoint is not None
    return " ".join([entrypoint.group(1), *compose["services"][service]["command"]])


def test_compose_registers_the_local_connector_file(compose: dict[str, Any]) -> None:
    relative = CONNECTOR_TEMPLATE.relative_to(PROJECT_ROOT).as_posix()
    assert _command(compose, "connect-register") == f"chinook-pulse connector register --file {relative}"
    # the image holds the file at the same relative path (the Dockerfile copies infra/ into its /app)
    assert "COPY infra/ infra/" in (PROJECT_ROOT / "Dockerfile").read_text()


def test_every_compose_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = env_names(Settings)
    env = _app_env(compose)
    assert set(env) <= fields, set(env) - fields
    assert set(CONNECTOR_SETTINGS) <= set(env)  # everything the connector file is made from
    for service in ("db-init", "connect-register", "kafka-init"):
        assert compose["services"][service]["environment"] == compose["x-settings"], service


def test_compose_defaults_are_the_settings_defaults(compose: dict[str, Any]) -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    env = _app_env(compose)
    for name in ("TOPIC_PREFIX", "TOPIC_PARTITIONS", "DELTAS_TOPIC", "DLQ_TOPIC"):
        assert env[name] == str(getattr(defaults, name.lower())), name


def test_same_topics_and_connector_config_both_ways(compose: dict[str, Any], tmp_path: Path) -> None:
    local = Settings(_env_file=None)  # type: ignore[call-arg]
    docker = Settings(_env_file=None, **{k.lower(): v for k, v in _app_env(compose).items()})  # type: ignore[arg-type, call-arg]
    local_config = render_connector(local)["config"]
    docker_config = render_connector(docker)["config"]
    # Only where the database is differs; topic names, tables and every other setting are equal.
    differ = {k for k in local_config if local_config[k] != docker_config[k]}
    assert differ <= {"database.hostname"}, differ
    assert docker_config["database.hostname"] == "postgres"
    for table in ("invoice", "invoice_line", "users"):
        assert docker.cdc_topic(table) == local.cdc_topic(table) == f"chinook.public.{table}"
    assert (docker.deltas_topic, docker.dlq_topic) == (local.deltas_topic, local.dlq_topic)


def test_kafka_settings_match(compose: dict[str, Any]) -> None:
    env = {k: _resolve(v) for k, v in compose["services"]["kafka"]["environment"].items()}
    local = SERVER_TEMPLATE.read_text()
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, one node
    assert env["KAFKA_NUM_PARTITIONS"] == str(Settings(_env_file=None).topic_partitions)  # type: ignore[call-arg]
    assert "num.partitions=${TOPIC_PARTITIONS}" in local
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false" and "auto.create.topics.enable=false" in local
    for key in ("OFFSETS_TOPIC_REPLICATION_FACTOR", "TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert str(env[f"KAFKA_{key}"]) == "1"
        assert f"{key.lower().replace('_', '.')}=1" in local
    kafka_init = " ".join(compose["services"]["kafka-init"]["command"])
    assert "$$DELTAS_TOPIC" in kafka_init and "$$DLQ_TOPIC" in kafka_init


def test_postgres_has_logical_replication(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert "wal_level=logical" in postgres["command"]
    assert postgres["environment"]["POSTGRES_DB"] == "chinook"
    assert _command(compose, "db-init") == "chinook-pulse db init"


def test_connect_runs_the_same_debezium_version() -> None:
    pom = (PROJECT_ROOT / "infra" / "pom.xml").read_text()
    version = re.search(r"<version.debezium>([^<]+)</version.debezium>", pom)
    assert version is not None
    assert f"quay.io/debezium/connect:{version.group(1)}" in COMPOSE.read_text()
