"""SQLAlchemy metadata of the source database: the Chinook store and the app's users.

This DDL is the project's own (the Chinook *rows* come from the upstream project, see
`data/chinook/LICENSE.md`). Column names follow the upstream PostgreSQL edition (snake_case),
so Debezium topics are `chinook.public.<table>`.
"""

from __future__ import annotations

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

metadata = MetaData(schema="public")

MONEY = Numeric(10, 2)

artist = Table(
    "artist",
    metadata,
    Column("artist_id", Integer, Identity(always=True), primary_key=True),
    Column("name", String(120)),
)

album = Table(
    "album",
    metadata,
    Column("album_id", Integer, Identity(always=True), primary_key=True),
    Column("title", String(160), nullable=False),
    Column("artist_id", Integer, ForeignKey("artist.artist_id"), nullable=False, index=True),
)

employee = Table(
    "employee",
    metadata,
    Column("employee_id", Integer, Identity(always=True), primary_key=True),
    Column("last_name", String(20), nullable=False),
    Column("first_name", String(20), nullable=False),
    Column("title", String(30)),
    Column("reports_to", Integer, ForeignKey("employee.employee_id"), index=True),
    Column("birth_date", DateTime),
    Column("hire_date", DateTime),
    Column("address", String(70)),
    Column("city", String(40)),
    Column("state", String(40)),
    Column("country", String(40)),
    Column("postal_code", String(10)),
    Column("phone", String(24)),
    Column("fax", String(24)),
    Column("email", String(60)),
)

customer = Table(
    "customer",
    metadata,
    Column("customer_id", Integer, Identity(always=True), primary_key=True),
    Column("first_name", String(40), nullable=False),
    Column("last_name", String(20), nullable=False),
    Column("company", String(80)),
    Column("address", String(70)),
    Column("city", String(40)),
    Column("state", String(40)),
    Column("country", String(40)),
    Column("postal_code", String(10)),
    Column("phone", String(24)),
    Column("fax", String(24)),
    Column("email", String(60), nullable=False),
    Column("support_rep_id", Integer, ForeignKey("employee.employee_id"), index=True),
)

genre = Table(
    "genre",
    metadata,
    Column("genre_id", Integer, Identity(always=True), primary_key=True),
    Column("name", String(120)),
)

media_type = Table(
    "media_type",
    metadata,
    Column("media_type_id", Integer, Identity(always=True), primary_key=True),
    Column("name", String(120)),
)

track = Table(
    "track",
    metadata,
    Column("track_id", Integer, Identity(always=True), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("album_id", Integer, ForeignKey("album.album_id"), index=True),
    Column("media_type_id", Integer, ForeignKey("media_type.media_type_id"), nullable=False, index=True),
    Column("genre_id", Integer, ForeignKey("genre.genre_id"), index=True),
    Column("composer", String(220)),
    Column("milliseconds", Integer, nullable=False),
    Column("bytes", Integer),
    Column("unit_price", MONEY, nullable=False),
)

invoice = Table(
    "invoice",
    metadata,
    Column("invoice_id", Integer, Identity(always=True), primary_key=True),
    Column("customer_id", Integer, ForeignKey("customer.customer_id"), nullable=False, index=True),
    Column("invoice_date", DateTime, nullable=False),  # UTC wall time, as upstream (no zone)
    Column("billing_address", String(70)),
    Column("billing_city", String(40)),
    Column("billing_state", String(40)),
    Column("billing_country", String(40)),
    Column("billing_postal_code", String(10)),
    Column("total", MONEY, nullable=False),
)

invoice_line = Table(
    "invoice_line",
    metadata,
    Column("invoice_line_id", Integer, Identity(always=True), primary_key=True),
    # No ON DELETE CASCADE: the simulator deletes lines explicitly, so each delete is its own event.
    Column("invoice_id", Integer, ForeignKey("invoice.invoice_id"), nullable=False, index=True),
    Column("track_id", Integer, ForeignKey("track.track_id"), nullable=False, index=True),
    Column("unit_price", MONEY, nullable=False),
    Column("quantity", Integer, nullable=False),
)

playlist = Table(
    "playlist",
    metadata,
    Column("playlist_id", Integer, Identity(always=True), primary_key=True),
    Column("name", String(120)),
)

playlist_track = Table(
    "playlist_track",
    metadata,
    Column("playlist_id", Integer, ForeignKey("playlist.playlist_id"), primary_key=True, index=True),
    Column("track_id", Integer, ForeignKey("track.track_id"), primary_key=True, index=True),
)

# -- the app's own tables -------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, Identity(always=False), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("email", String(255), nullable=False, unique=True),
    Column("role", String(20), nullable=False),  # admin | analyst | viewer
    Column("last_activity", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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
CHINOOK_TABLES: tuple[Table, ...] = (
    artist,
    album,
    employee,
    customer,
    genre,
    media_type,
    track,
    invoice,
    invoice_line,
    playlist,
    playlist_track,
)

#: Tables Debezium captures (REPLICA IDENTITY FULL). `user_token` stays out of the change feed.
CAPTURED_TABLES: tuple[Table, ...] = (*CHINOOK_TABLES, users)

CAPTURED_TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in CAPTURED_TABLES)
