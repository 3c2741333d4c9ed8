"""Rendering of the local stack's config: the connector JSON, the broker and worker properties."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from ops.stack import kafka
from ops.stack.connect import WORKER_TEMPLATE, worker_values
from ops.stack.connector import CONNECTOR_TEMPLATE, connector_values, render_connector, table_include_list
from ops.stack.errors import StackError
from ops.stack.kafka import SERVER_TEMPLATE, new_cluster_id, server_values
from ops.stack.templates import placeholders, render
from schemas.settings import Settings
from tables.models import CAPTURED_TABLE_NAMES


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP", "CONNECT_URL", "TOPIC_PREFIX", "TOPIC_PARTITIONS"):
        monkeypatch.delenv(name, raising=False)


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", _env_file=None, **overrides)  # type: ignore[call-arg]


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_connector_config_has_the_required_settings(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    connector = render_connector(settings)
    config = connector["config"]
    assert connector["name"] == "chinook-postgres"
    assert config["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert config["plugin.name"] == "pgoutput"
    assert config["topic.prefix"] == settings.topic_prefix == "chinook"
    assert config["snapshot.mode"] == "initial"
    assert config["publication.autocreate.mode"] == "filtered"
    assert config["slot.name"] == config["publication.name"] == "chinook_pulse"
    for side in ("key", "value"):
        assert config[f"{side}.converter"] == "org.apache.kafka.connect.json.JsonConverter"
        assert config[f"{side}.converter.schemas.enable"] == "false"
    assert config["value.converter.replace.null.with.default"] == "false"
    assert config["decimal.handling.mode"] == "string"
    assert config["tombstones.on.delete"] == "true"
    assert int(config["poll.interval.ms"]) <= 100
    assert int(config["producer.override.linger.ms"]) <= 10
    assert config["topic.creation.default.partitions"] == str(settings.topic_partitions) == "3"
    assert config["topic.creation.default.replication.factor"] == "1"
    assert not any("${" in value for value in config.values())


def test_every_captured_table_is_included_and_nothing_else() -> None:
    included = table_include_list().split(",")
    assert included == [f"public.{name}" for name in CAPTURED_TABLE_NAMES]
    assert "public.invoice" in included and "public.users" in included
    assert "public.user_token" not in included


def test_database_fields_come_from_database_url(tmp_path: Path) -> None:
    settings = _settings(tmp_path, database_url='postgresql://app:pa"ss\\word@db.example:6543/store')
    values = connector_values(settings)
    assert values["DATABASE_HOST"] == "db.example"
    assert values["DATABASE_PORT"] == "6543"
    assert values["DATABASE_USER"] == "app"
    assert values["DATABASE_NAME"] == "store"
    config = render_connector(settings)["config"]
    assert config["database.password"] == 'pa"ss\\word'
    assert json.loads(json.dumps(config)) == config  # quotes in a password keep the JSON valid


def test_default_database_url_has_no_password(tmp_path: Path) -> None:
    values = connector_values(_settings(tmp_path))
    assert values["DATABASE_HOST"] == "127.0.0.1"
    assert values["DATABASE_PORT"] == "5432"
    assert values["DATABASE_USER"] == "postgres"
    assert values["DATABASE_PASSWORD"] == ""
    assert values["DATABASE_NAME"] == "chinook"


def test_every_placeholder_of_every_template_has_a_value(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    (tmp_path / "cache" / "jars" / "plugins" / "debezium-postgres").mkdir(parents=True)
    (tmp_path / "cache/jars/plugins/debezium-postgres/debezium-connector-postgres-3.6.1.Final.jar").touch()
    cases = [
        (CONNECTOR_TEMPLATE, connector_values(settings)),
        (SERVER_TEMPLATE, server_values(settings)),
        (WORKER_TEMPLATE, worker_values(settings)),
    ]
    for template, values in cases:
        text = template.read_text()
        assert placeholders(text) <= values.keys(), template
        assert "${" not in render(text, values)


def test_broker_properties(tmp_path: Path) -> None:
    settings = _settings(tmp_path, kafka_bootstrap="127.0.0.1:19092", topic_partitions=4)
    props = _properties(render(SERVER_TEMPLATE.read_text(), server_values(settings)))
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["num.partitions"] == "4"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == str(tmp_path / "run" / "kafka" / "data")


def test_worker_properties(tmp_path: Path) -> None:
    settings = _settings(tmp_path, connect_url="http://127.0.0.1:18083")
    (tmp_path / "cache/jars/plugins/debezium-postgres").mkdir(parents=True)
    (tmp_path / "cache/jars/plugins/debezium-postgres/debezium-connector-postgres-3.6.1.Final.jar").touch()
    props = _properties(render(WORKER_TEMPLATE.read_text(), worker_values(settings)))
    assert props["listeners"] == "http://127.0.0.1:18083"
    assert props["bootstrap.servers"] == settings.kafka_bootstrap
    assert props["plugin.path"] == str(tmp_path / "cache" / "jars" / "plugins")
    assert props["offset.storage.file.filename"] == str(tmp_path / "run" / "connect" / "offsets.dat")
    assert props["connector.client.config.override.policy"] == "All"


def test_worker_needs_the_debezium_jars(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="make jars"):
        worker_values(_settings(tmp_path))


def test_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(StackError, match=r"\$\{NOPE\}"):
        render("a=${NOPE}", {"OTHER": "x"}, source="t")


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The storage tool reads `-t -Xyz...` as a missing id: one fresh `make up` in 64 failed so."""
    dashed = uuid.UUID(bytes=b"\xf8" + bytes(15))  # URL-safe base64 "-AAAA..."
    plain = uuid.UUID(bytes=bytes(16))
    drawn = iter([dashed, plain])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(drawn))
    assert new_cluster_id() == "A" * 22


def test_cluster_ids_are_22_url_safe_characters() -> None:
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", i) for i in ids)
