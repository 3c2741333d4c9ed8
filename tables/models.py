"""SQLAlchemy metadata of the source database: the Chinook store and the app's users.

The captured tables' columns come from the catalogue (`schemas/columns.py`); this module adds
what only the database needs: identities, foreign keys, indexes, defaults, and the tables that
stay out of the change feed (`user_token`). Column names follow the upstream PostgreSQL edition
(snake_case), so Debezium topics are `chinook.public.<table>`; the Chinook *rows* come from the
upstream project (see `data/chinook/LICENSE.md`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from schemas.columns import CAPTURED, CAPTURED_TABLE_NAMES, CHINOOK_TABLE_NAMES, ColumnKind, ColumnSpec

__all__ = ["CAPTURED_TABLES", "CAPTURED_TABLE_NAMES", "CHINOOK_TABLES", "ROLES", "metadata"]

metadata = MetaData(schema="public")


@dataclass(frozen=True)
class _Db:
    """What the database alone adds to a catalogue column."""

    items: tuple[SchemaItem, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


def _db(*items: SchemaItem, **options: Any) -> _Db:
    return _Db(items, options)


def _sql_type(spec: ColumnSpec) -> TypeEngine[Any]:
    if spec.kind is ColumnKind.INT:
        return Integer()
    if spec.kind is ColumnKind.STR:
        return Text() if spec.length is None else String(spec.length)
    if spec.kind is ColumnKind.DECIMAL:
        return Numeric(spec.precision, spec.scale)
    return DateTime(timezone=spec.kind is ColumnKind.TIMESTAMPTZ)


def _captured(name: str, **extras: _Db) -> Table:
    """A captured table: its columns from the catalogue, `extras` by column name."""
    (spec,) = [t for t in CAPTURED if t.name == name]
    unknown = set(extras) - {c.name for c in spec.columns}
    if unknown:
        raise KeyError(f"{name}: no such columns {sorted(unknown)}")
    columns = []
    for column in spec.columns:
        extra = extras.get(column.name, _Db())
        columns.append(
            Column(
                column.name,
                _sql_type(column),
                *extra.items,
                primary_key=column.primary_key,
                nullable=column.nullable,
                **extra.options,
            )
        )
    return Table(name, metadata, *columns)


_ID = _db(Identity(always=True))


def _ref(target: str, **options: Any) -> _Db:
    return _db(ForeignKey(target), index=True, **options)


artist = _captured("artist", artist_id=_ID)
album = _captured("album", album_id=_ID, artist_id=_ref("artist.artist_id"))
employee = _captured("employee", employee_id=_ID, reports_to=_ref("employee.employee_id"))
customer = _captured("customer", customer_id=_ID, support_rep_id=_ref("employee.employee_id"))
genre = _captured("genre", genre_id=_ID)
media_type = _captured("media_type", media_type_id=_ID)
track = _captured(
    "track",
    track_id=_ID,
    album_id=_ref("album.album_id"),
    media_type_id=_ref("media_type.media_type_id"),
    genre_id=_ref("genre.genre_id"),
)
invoice = _captured("invoice", invoice_id=_ID, customer_id=_ref("customer.customer_id"))
# No ON DELETE CASCADE: the simulator deletes lines explicitly, so each delete is its own event.
invoice_line = _captured(
    "invoice_line",
    invoice_line_id=_ID,
    invoice_id=_ref("invoice.invoice_id"),
    track_id=_ref("track.track_id"),
)
playlist = _captured("playlist", playlist_id=_ID)
playlist_track = _captured("playlist_track", playlist_id=_ref("playlist.playlist_id"), track_id=_ref("track.track_id"))

# -- the app's own tables -------------------------------------------------------------

users = _captured(
    "users",
    id=_db(Identity(always=False)),
    email=_db(unique=True),
    created_at=_db(server_default=func.now()),
)

user_token = Table(
    "user_token",
    metadata,
    Column("id", Integer, Identity(always=False), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),  # tokens are stored hashed
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
)
Index("user_token_user_id_idx", user_token.c.user_id)

ROLES = ("admin", "analyst", "viewer")

#: Chinook tables in load order (parents before children).
CHINOOK_TABLES: tuple[Table, ...] = tuple(metadata.tables[f"public.{name}"] for name in CHINOOK_TABLE_NAMES)

#: Tables Debezium captures (REPLICA IDENTITY FULL). `user_token` stays out of the change feed.
CAPTURED_TABLES: tuple[Table, ...] = tuple(metadata.tables[f"public.{name}"] for name in CAPTURED_TABLE_NAMES)
