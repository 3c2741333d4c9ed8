"""Create the source schema and load the Chinook rows and the app's seeded users, idempotently."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from schemas.settings import PROJECT_ROOT, Settings
from tables import models

log = logging.getLogger(__name__)

DATA_DIR = PROJECT_ROOT / "data" / "chinook"

#: The seeded users of the app (development accounts; tokens are issued with `chinook-pulse users token`).
SEED_USERS: tuple[tuple[str, str, str], ...] = (
    ("Ada Admin", "admin@chinook.test", "admin"),
    ("Ana Analyst", "analyst@chinook.test", "analyst"),
    ("Vic Viewer", "viewer@chinook.test", "viewer"),
)


def _libpq_url(settings: Settings, database: str | None = None) -> str:
    url = make_url(settings.sqlalchemy_url)
    if database is not None:
        url = url.set(database=database)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(settings: Settings) -> None:
    """Create the target database if it does not exist (connecting to `postgres`)."""
    name = make_url(settings.sqlalchemy_url).database or "chinook"
    with psycopg.connect(_libpq_url(settings, "postgres"), autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log.info("created database %s", name)


def load_table(conn: psycopg.Connection, table: str, csv_path: Path) -> int:
    """COPY one CSV into an empty table; return the rows loaded (0 when already loaded)."""
    has_rows = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
    row = has_rows.fetchone()
    if row and row[0]:
        return 0
    with csv_path.open("rb") as fh:
        header = fh.readline().decode("utf-8").strip().split(",")
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '\\N')").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in header)
        )
        with conn.cursor().copy(copy_sql) as copy:
            while chunk := fh.read(1 << 16):
                copy.write(chunk)
    count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(count[0]) if count else 0


def init_database(settings: Settings) -> None:
    """Create database, schema, data, seeded users, replica identity and sequences. Safe to re-run."""
    ensure_database(settings)
    engine = create_engine(settings.sqlalchemy_url)
    try:
        models.metadata.create_all(engine)
    finally:
        engine.dispose()

    with psycopg.connect(_libpq_url(settings), connect_timeout=5) as conn:
        for table in models.CHINOOK_TABLES:
            with conn.transaction():
                loaded = load_table(conn, table.name, DATA_DIR / f"{table.name}.csv")
            if loaded:
                log.info("loaded %d rows into %s", loaded, table.name)
        with conn.transaction():
            for name, email, role in SEED_USERS:
                conn.execute(
                    "INSERT INTO users (name, email, role) VALUES (%s, %s, %s) ON CONFLICT (email) DO NOTHING",
                    (name, email, role),
                )
            for table in models.metadata.sorted_tables:
                for column in table.primary_key.columns:
                    if column.identity is not None:
                        advance_sequence(conn, table.name, column.name)
            for table in models.CAPTURED_TABLES:
                ensure_replica_identity_full(conn, table.name)


def advance_sequence(conn: psycopg.Connection, table: str, column: str) -> None:
    """Move an identity sequence past the loaded rows; never backwards (safe beside live inserts)."""
    conn.execute(
        sql.SQL(
            "SELECT setval(s.seq, m.max_id) FROM"
            " (SELECT pg_get_serial_sequence({qualified}, {col}) AS seq) s,"
            " (SELECT max({ident}) AS max_id FROM {tbl}) m,"
            " pg_sequences p"
            " WHERE p.schemaname || '.' || p.sequencename = s.seq"
            " AND m.max_id IS NOT NULL AND COALESCE(p.last_value, 0) < m.max_id"
        ).format(
            qualified=sql.Literal(f"public.{table}"),
            col=sql.Literal(column),
            ident=sql.Identifier(column),
            tbl=sql.Identifier(table),
        )
    )


def ensure_replica_identity_full(conn: psycopg.Connection, table: str) -> None:
    """REPLICA IDENTITY FULL (full before-images for Debezium), only when not set already.

    ALTER TABLE takes an exclusive lock, so a re-run of `make up` beside live traffic must not issue it.
    """
    row = conn.execute("SELECT relreplident FROM pg_class WHERE oid = to_regclass(%s)", (f"public.{table}",)).fetchone()
    if row is None or row[0] != "f":
        conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(sql.Identifier(table)))


def check_connection(settings: Settings) -> str:
    """Return the server's wal_level; raises psycopg.OperationalError when unreachable."""
    with psycopg.connect(_libpq_url(settings, "postgres"), connect_timeout=5) as conn:
        row = conn.execute("SHOW wal_level").fetchone()
        return str(row[0]) if row else ""
