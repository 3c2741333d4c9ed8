"""One Kafka node in KRaft mode (broker + controller), storage formatted once in `<run_dir>/kafka`."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import uuid
from pathlib import Path

from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.settings import Settings

from .component import Component, Health
from .errors import StackError
from .jvm import java_binary, java_command, kafka_classpath
from .ports import host_port, listening
from .templates import INFRA_DIR, render_file

SERVER_TEMPLATE = INFRA_DIR / "kafka" / "server.properties"
METADATA_TIMEOUT = 5.0


def bootstrap_address(settings: Settings) -> tuple[str, int]:
    return host_port(settings.kafka_bootstrap, 9092)


def controller_port(settings: Settings) -> int:
    """The KRaft controller listens next to the broker: 9093 for the default 9092."""
    return bootstrap_address(settings)[1] + 1


def server_values(settings: Settings) -> dict[str, str]:
    host, port = bootstrap_address(settings)
    return {
        "KAFKA_HOST": host,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port(settings)),
        "KAFKA_LOG_DIRS": str(settings.run_dir / "kafka" / "data"),
        "TOPIC_PARTITIONS": str(settings.topic_partitions),
    }


async def _broker_count(bootstrap: str, request_timeout_ms: int) -> int:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms)
    try:
        await client.bootstrap()
        return len(client.cluster.brokers())
    finally:
        await client.close()


def metadata_ok(bootstrap: str, timeout: float = METADATA_TIMEOUT) -> Health:
    """A metadata request to `bootstrap` answers with at least one broker (bounded)."""
    try:
        brokers = asyncio.run(asyncio.wait_for(_broker_count(bootstrap, int(timeout * 1000)), timeout))
    except Exception as exc:  # any failure means "not healthy", with its reason
        return Health(False, f"metadata request failed: {type(exc).__name__}: {exc}")
    return Health(brokers > 0, f"metadata ok, {brokers} broker(s)")


async def _ensure_topics(bootstrap: str, topics: list[str], partitions: int, request_timeout_ms: int) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            new = [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
            await admin.create_topics(new)
        return missing
    finally:
        await admin.close()


def ensure_topics(settings: Settings, topics: list[str], timeout: float = 15.0) -> list[str]:
    """Create the missing ones of `topics` (auto-creation is off); returns those created."""
    try:
        work = _ensure_topics(settings.kafka_bootstrap, topics, settings.topic_partitions, int(timeout * 1000))
        return asyncio.run(asyncio.wait_for(work, timeout))
    except Exception as exc:
        raise StackError(f"kafka: cannot create topics {', '.join(topics)}: {type(exc).__name__}: {exc}") from exc


def new_cluster_id() -> str:
    """A random KRaft cluster id as Kafka makes them (`Uuid.randomUuid`): 22 URL-safe base64
    characters, never starting with "-", which the storage tool would read as an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class Kafka(Component):
    name = "kafka"
    external_ok = True  # a broker this stack did not start (another checkout's, a container) is used
    start_timeout = 90.0
    stop_timeout = 30.0

    def config_file(self, settings: Settings) -> Path:
        return settings.run_dir / "kafka" / "server.properties"

    def marker(self, settings: Settings) -> str:
        return str(self.config_file(settings))

    def ports(self, settings: Settings) -> list[tuple[str, int]]:
        host, port = bootstrap_address(settings)
        return [(host, port), (host, controller_port(settings))]

    def command(self, settings: Settings) -> list[str]:
        return java_command(settings, "kafka.Kafka", [str(self.config_file(settings))], heap="768m")

    def check(self, settings: Settings) -> Health:
        host, port = bootstrap_address(settings)
        if not listening(host, port):
            return Health(False, f"nothing listening on {host}:{port}")
        return metadata_ok(settings.kafka_bootstrap)

    def preflight(self, settings: Settings) -> None:
        java_binary()
        kafka_classpath(settings)

    def prepare(self, settings: Settings) -> None:
        config = render_file(SERVER_TEMPLATE, server_values(settings), self.config_file(settings))
        if (settings.run_dir / "kafka" / "data" / "meta.properties").exists():
            return
        command = java_command(
            settings, "kafka.tools.StorageTool", ["format", "-t", new_cluster_id(), "-c", str(config)], heap="256m"
        )
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired as exc:
            raise StackError("kafka: formatting storage timed out after 120s") from exc
        if done.returncode != 0:
            log_file = settings.run_dir / "logs" / "kafka-format.log"
            log_file.parent.mkdir(parents=True, exist_ok=True)
            log_file.write_text(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
            for leftover in ("meta.properties", "bootstrap.checkpoint"):
                (settings.run_dir / "kafka" / "data" / leftover).unlink(missing_ok=True)
            lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]  # the error last
            last = lines[-1] if lines else done.returncode
            raise StackError(f"kafka: formatting storage failed (see {log_file}): {last}")

    def after_start(self, settings: Settings) -> None:
        # The app's own topics; Debezium's are created by Connect (topic.creation.default.*).
        ensure_topics(settings, [settings.deltas_topic, settings.dlq_topic])
