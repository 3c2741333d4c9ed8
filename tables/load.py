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
                    if column.identity is None:
                        continue
                    conn.execute(
                        sql.SQL(
                            "SELECT setval(pg_get_serial_sequence({qualified}, {col}),"
                            " COALESCE((SELECT max({ident}) FROM {tbl}), 0) + 1, false)"
                        ).format(
                            qualified=sql.Literal(f"public.{table.name}"),
                            col=sql.Literal(column.name),
                            ident=sql.Identifier(column.name),
                            tbl=sql.Identifier(table.name),
                        )
                    )
            for table in models.CAPTURED_TABLES:
                conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(sql.Identifier(table.name)))


def check_connection(settings: Settings) -> str:
    """Return the server's wal_level; raises psycopg.OperationalError when unreachable."""
    with psycopg.connect(_libpq_url(settings, "postgres"), connect_timeout=5) as conn:
        row = conn.execute("SHOW wal_level").fetchone()
        return str(row[0]) if row else ""
