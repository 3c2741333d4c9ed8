"""Bad set-ups fail at once with one clear line (real sockets and processes, no network)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops.stack import runner
from ops.stack.connect import Connect
from ops.stack.errors import StackError
from ops.stack.jvm import java_binary, kafka_classpath
from ops.stack.kafka import Kafka
from ops.stack.postgres import Postgres, Probe
from schemas.settings import PROJECT_ROOT, Settings


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP", "CONNECT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def foreign_port() -> Iterator[int]:
    """A loopback port held by a 'foreign' server that accepts and hangs up at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join(timeout=2)
    server.close()


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(run_dir=tmp_path / "run", cache_dir=tmp_path / "cache", _env_file=None, **overrides)  # type: ignore[call-arg]


def test_kafka_port_taken_by_a_foreign_process(tmp_path: Path, foreign_port: int) -> None:
    settings = _settings(tmp_path, kafka_bootstrap=f"127.0.0.1:{foreign_port}")
    with pytest.raises(StackError, match=rf"kafka: port 127.0.0.1:{foreign_port} is already taken"):
        Kafka().up(settings)


def test_connect_port_taken_by_a_foreign_process(tmp_path: Path, foreign_port: int) -> None:
    settings = _settings(tmp_path, connect_url=f"http://127.0.0.1:{foreign_port}")
    with pytest.raises(StackError, match=rf"connect: port 127.0.0.1:{foreign_port} is already taken"):
        Connect().up(settings)


def test_postgres_port_taken_by_something_that_is_not_postgres(tmp_path: Path, foreign_port: int) -> None:
    settings = _settings(tmp_path, database_url=f"postgresql://postgres@127.0.0.1:{foreign_port}/chinook")
    with pytest.raises(StackError, match=rf"port 127.0.0.1:{foreign_port} is taken by a process that is not"):
        Postgres().up(settings)
    assert not (tmp_path / "run" / "pgdata").exists()  # nothing initialised


def test_unreachable_external_database_is_not_replaced_by_a_local_one(tmp_path: Path) -> None:
    # Decided from the probe's answer alone: no traffic leaves the machine in this test.
    settings = _settings(tmp_path, database_url="postgresql://app:secret@db.example.invalid:5432/chinook")
    with pytest.raises(StackError, match=r"DATABASE_URL postgresql://app:\*\*\*@db.example.invalid.* is unreachable"):
        Postgres()._require_local(settings, Probe(False, error="could not translate host name"))


def test_external_database_without_logical_wal_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(StackError, match=r"has wal_level=replica, Debezium needs wal_level=logical"):
        Postgres()._require_logical(settings, Probe(True, wal_level="replica"))


def test_missing_jars_say_make_jars(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"run `make jars`"):
        kafka_classpath(_settings(tmp_path))


def test_missing_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StackError, match=r"^java not found"):
        java_binary()


def test_unknown_component() -> None:
    with pytest.raises(StackError, match=r"unknown component\(s\) nope"):
        runner.select(["postgres", "nope"])


def _bin_without(tmp_path: Path, *missing: str) -> str:
    """A PATH folder with the tools install-jars.sh uses, less `missing`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "dirname", "awk", "java", "mvn", "find", "mkdir", "rm", "mv", "touch", "grep", "head", "wc"):
        found = shutil.which(tool)
        if found and tool not in missing:
            (folder / tool).symlink_to(found)
    return str(folder)


@pytest.mark.parametrize(("missing", "message"), [("java", "java not found"), ("mvn", "mvn not found")])
def test_install_jars_needs_java_and_maven(tmp_path: Path, missing: str, message: str) -> None:
    if missing == "mvn" and shutil.which("java") is None:
        pytest.skip("java is missing too: the java check comes first")
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "infra" / "install-jars.sh")],
        env={**os.environ, "PATH": _bin_without(tmp_path, missing)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
