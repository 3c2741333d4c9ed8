"""Kafka Connect (standalone) running Debezium's PostgreSQL connector.

The worker config is rendered from `infra/connect/worker.properties`, the connector config from
`infra/connect/chinook-postgres.json` (the file docker-compose registers too); both land in
`<run_dir>/connect/`, with the source offsets file. Healthy means: the connector and every task
RUNNING. A FAILED connector or task fails `up` at once with its trace's summary.
"""

from __future__ import annotations

import json
from pathlib import Path

from schemas.settings import Settings

from .component import Component, Health
from .connect_rest import connector_state
from .connector import render_connector
from .errors import StackError
from .jvm import java_binary, java_command, kafka_classpath, plugin_path
from .ports import host_port, listening
from .templates import INFRA_DIR, render_file

WORKER_TEMPLATE = INFRA_DIR / "connect" / "worker.properties"


def connect_address(settings: Settings) -> tuple[str, int]:
    return host_port(settings.connect_url, 8083)


def worker_values(settings: Settings) -> dict[str, str]:
    host, port = connect_address(settings)
    return {
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "CONNECT_HOST": host,
        "CONNECT_PORT": str(port),
        "CONNECT_PLUGIN_PATH": str(plugin_path(settings)),
        "CONNECT_OFFSETS_FILE": str(settings.run_dir / "connect" / "offsets.dat"),
    }


class Connect(Component):
    name = "connect"
    needs = ("postgres", "kafka")
    external_ok = True  # used as it is when healthy, i.e. running this settings' connector
    start_timeout = 120.0
    stop_timeout = 30.0

    def folder(self, settings: Settings) -> Path:
        return settings.run_dir / "connect"

    def worker_file(self, settings: Settings) -> Path:
        return self.folder(settings) / "worker.properties"

    def connector_file(self, settings: Settings) -> Path:
        return self.folder(settings) / "connector.json"

    def connector(self, settings: Settings) -> str:
        name: str = render_connector(settings)["name"]
        return name

    def marker(self, settings: Settings) -> str:
        return str(self.worker_file(settings))

    def ports(self, settings: Settings) -> list[tuple[str, int]]:
        return [connect_address(settings)]

    def command(self, settings: Settings) -> list[str]:
        return java_command(
            settings,
            "org.apache.kafka.connect.cli.ConnectStandalone",
            [str(self.worker_file(settings)), str(self.connector_file(settings))],
            heap="768m",
        )

    def preflight(self, settings: Settings) -> None:
        java_binary()
        kafka_classpath(settings)
        plugin_path(settings)

    def prepare(self, settings: Settings) -> None:
        render_file(WORKER_TEMPLATE, worker_values(settings), self.worker_file(settings))
        target = self.connector_file(settings)
        target.write_text(json.dumps(render_connector(settings), indent=2) + "\n", encoding="utf-8")
        target.chmod(0o600)  # it may hold the database password

    def check(self, settings: Settings) -> Health:
        host, port = connect_address(settings)
        if not listening(host, port):
            return Health(False, f"REST API not listening on {host}:{port} yet")
        name = self.connector(settings)
        state = connector_state(settings.connect_url, name)
        if state is None:
            return Health(False, f"connector {name} not registered yet")
        detail = f"{name}: {state.describe()}"
        if state.failed and state.trace:
            detail += f": {state.trace}"
        return Health(state.running, detail)

    def raise_if_broken(self, settings: Settings, health: Health) -> None:
        if "FAILED" in health.detail:
            raise StackError(f"connect: {health.detail} (see {self.paths(settings).log_file})")
