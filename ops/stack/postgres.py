"""PostgreSQL 15 with `wal_level=logical`: the server at DATABASE_URL, or a project-local cluster.

If DATABASE_URL's server answers and has `wal_level=logical`, it is used as it is ("external").
If it answers without logical replication, `up` fails. If nothing answers on a loopback address,
a cluster is initialised in `<run_dir>/pgdata` with Debian's binaries and started there.
Then database `chinook` is created if missing and `tables.load.init_database` loads it.
"""

from __future__ import annotations

import importlib
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from schemas.settings import Settings

from .component import Component, Health, Status
from .errors import StackError
from .ports import is_loopback, listening

PG_BIN = Path(os.environ.get("CHINOOK_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
PROBE_TIMEOUT = 3

LOCAL_CONF = """\
# chinook-pulse LOCAL DEV cluster (written by ops/stack/postgres.py): not for production.
# listen_addresses and port are given on the command line, from DATABASE_URL.
unix_socket_directories = ''     # TCP on loopback only
wal_level = logical              # Debezium's pgoutput logical decoding
max_wal_senders = 10
max_replication_slots = 10
max_connections = 100
shared_buffers = 128MB
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
"""

LOCAL_HBA = """\
# chinook-pulse LOCAL DEV cluster: TRUST on loopback, no password. Development only, never production.
host    all          all  127.0.0.1/32  trust
host    all          all  ::1/128       trust
host    replication  all  127.0.0.1/32  trust
host    replication  all  ::1/128       trust
"""


@dataclass(frozen=True)
class Probe:
    """What DATABASE_URL's server said: reachable or not, and its wal_level."""

    reachable: bool
    wal_level: str = ""
    error: str = ""


def db_url(settings: Settings) -> URL:
    return make_url(settings.sqlalchemy_url)


def redacted(settings: Settings) -> str:
    return db_url(settings).render_as_string(hide_password=True).replace("postgresql+psycopg", "postgresql")


def conninfo(settings: Settings, dbname: str | None = None) -> str:
    url = db_url(settings)
    return psycopg.conninfo.make_conninfo(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password if isinstance(url.password, str) else None,
        dbname=dbname or url.database or "chinook",
        connect_timeout=PROBE_TIMEOUT,
    )


def probe(settings: Settings) -> Probe:
    """Connect (bounded) to the target database, or to `postgres` while the target is missing."""
    url = db_url(settings)
    for dbname in (url.database or "chinook", "postgres"):
        try:
            with psycopg.connect(conninfo(settings, dbname), autocommit=True) as conn:
                row = conn.execute("SHOW wal_level").fetchone()
                return Probe(True, wal_level=str(row[0]) if row else "")
        except psycopg.OperationalError as exc:
            message = " ".join(str(exc).split())
            if "does not exist" in message and dbname != "postgres":
                continue
            return Probe(False, error=message)
    return Probe(False, error="no database to connect to")


class Postgres(Component):
    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for Debezium to disconnect
    stop_timeout = 30.0
    start_timeout = 60.0

    def data_dir(self, settings: Settings) -> Path:
        return settings.run_dir / "pgdata"

    def marker(self, settings: Settings) -> str:
        return str(self.data_dir(settings))

    def ports(self, settings: Settings) -> list[tuple[str, int]]:
        url = db_url(settings)
        return [(url.host or "127.0.0.1", url.port or 5432)]

    def command(self, settings: Settings) -> list[str]:
        host, port = self.ports(settings)[0]
        return [
            str(PG_BIN / "postgres"),
            "-D",
            str(self.data_dir(settings)),
            "-c",
            f"listen_addresses={host}",
            "-c",
            f"port={port}",
        ]

    def check(self, settings: Settings) -> Health:
        result = probe(settings)
        if not result.reachable:
            return Health(False, result.error)
        ok = result.wal_level == "logical"
        return Health(ok, f"wal_level={result.wal_level}")

    def status(self, settings: Settings) -> Status:
        own = super().status(settings)
        if own.state != "stopped":
            return own
        result = probe(settings)
        if result.reachable:
            ok = result.wal_level == "logical"
            return Status(self.name, None, "external", Health(ok, f"{redacted(settings)} wal_level={result.wal_level}"))
        return own

    # -- up ---------------------------------------------------------------------------------
    def up(self, settings: Settings) -> bool:
        started = False
        if self.pid(settings) is None:
            result = probe(settings)
            if result.reachable:
                self._require_logical(settings, result)
            else:
                self._require_local(settings, result)
                started = super().up(settings)
        else:
            super().up(settings)
        ensure_database(settings)
        return started

    def _require_logical(self, settings: Settings, result: Probe) -> None:
        if result.wal_level != "logical":
            raise StackError(
                f"PostgreSQL at {redacted(settings)} has wal_level={result.wal_level}, Debezium needs "
                "wal_level=logical: set it (ALTER SYSTEM SET wal_level = logical; restart) or point "
                "DATABASE_URL elsewhere"
            )

    def _require_local(self, settings: Settings, result: Probe) -> None:
        host, port = self.ports(settings)[0]
        if not is_loopback(host):
            raise StackError(f"DATABASE_URL {redacted(settings)} is unreachable: {result.error}")
        if listening(host, port):
            raise StackError(
                f"port {host}:{port} is taken by a process that is not a usable PostgreSQL "
                f"({result.error}): stop it or set DATABASE_URL"
            )
        if not (PG_BIN / "postgres").exists():
            raise StackError(f"PostgreSQL 15 server binaries not found in {PG_BIN}: apt-get install -y postgresql-15")

    def prepare(self, settings: Settings) -> None:
        data = self.data_dir(settings)
        self.user = _os_user()
        if not (data / "PG_VERSION").exists():
            _initdb(settings, data, self.user)
        # Rewritten on every start, so the dev settings above apply to an existing cluster too.
        _write_as(data / "chinook-pulse.conf", LOCAL_CONF, self.user)
        _write_as(data / "pg_hba.conf", LOCAL_HBA, self.user)


def _os_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` OS user (created if absent)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", OS_USER],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
    return OS_USER


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _write_as(path: Path, text: str, user: str | None) -> None:
    path.write_text(text, encoding="utf-8")
    _chown(path, user)


def _initdb(settings: Settings, data: Path, user: str | None) -> None:
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    _chown(data, user)
    db_user = db_url(settings).username or "postgres"
    command = [str(PG_BIN / "initdb"), "-D", str(data), "-U", db_user, "--auth=trust", "-E", "UTF8", "--no-locale"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, user=user)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"initdb of {data} timed out after 120s") from exc
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        hint = " (can the postgres OS user reach that folder?)" if user else ""
        raise StackError(f"initdb of {data} failed{hint}: {lines[-1] if lines else done.returncode}")
    conf = data / "postgresql.conf"
    with conf.open("a", encoding="utf-8") as handle:
        handle.write("\ninclude_if_exists = 'chinook-pulse.conf'\n")


def ensure_database(settings: Settings) -> None:
    """Create the target database if missing, then load schema and rows (idempotent)."""
    dbname = db_url(settings).database or "chinook"
    try:
        with psycopg.connect(conninfo(settings, dbname), autocommit=True):
            pass
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise StackError(f"cannot connect to {redacted(settings)}: {' '.join(str(exc).split())}") from exc
        try:
            with psycopg.connect(conninfo(settings, "postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.Error as create_exc:
            raise StackError(f"cannot create database {dbname} at {redacted(settings)}: {create_exc}") from exc
    load = importlib.import_module("tables.load")
    load.init_database(settings)
