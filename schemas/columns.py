"""The catalogue of the captured tables: each column's name, kind, size, nullability and key.

It is the one definition of what Debezium captures. The parser reads it to decode schemaless
JSON (`schemas.enable=false` carries no types) and to check what a schema says; `tables/models.py`
builds the SQLAlchemy tables from it, adding only what the database alone needs (identities,
foreign keys, indexes, defaults). Rule: this module imports nothing of the project.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "CAPTURED",
    "CAPTURED_TABLE_NAMES",
    "CHINOOK_TABLE_NAMES",
    "COLUMNS",
    "PRIMARY_KEYS",
    "ColumnKind",
    "ColumnSpec",
    "TableSpec",
    "column_spec",
]


class ColumnKind(enum.Enum):
    """The Python type a column decodes to."""

    INT = "int"
    STR = "str"
    DECIMAL = "decimal"
    TIMESTAMP = "timestamp"  # without time zone: UTC wall time
    TIMESTAMPTZ = "timestamptz"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: its kind, its scale (DECIMAL only) and whether it may be NULL.

    `precision` (DECIMAL) and `length` (STR: VARCHAR(length); None is TEXT) size the SQL type;
    `primary_key` marks the key columns, in table order.
    """

    name: str
    kind: ColumnKind
    nullable: bool
    scale: int | None = None
    precision: int | None = None
    length: int | None = None
    primary_key: bool = False


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One captured table: its name and its columns in DDL order."""

    name: str
    columns: tuple[ColumnSpec, ...]

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)


def _key(name: str) -> ColumnSpec:
    return ColumnSpec(name, ColumnKind.INT, False, primary_key=True)


def _int(name: str, *, null: bool = True) -> ColumnSpec:
    return ColumnSpec(name, ColumnKind.INT, null)


def _str(name: str, length: int | None, *, null: bool = True) -> ColumnSpec:
    return ColumnSpec(name, ColumnKind.STR, null, length=length)


def _money(name: str) -> ColumnSpec:
    return ColumnSpec(name, ColumnKind.DECIMAL, False, scale=2, precision=10)


def _time(name: str, *, null: bool = True, zone: bool = False) -> ColumnSpec:
    return ColumnSpec(name, ColumnKind.TIMESTAMPTZ if zone else ColumnKind.TIMESTAMP, null)


def _table(name: str, *columns: ColumnSpec) -> TableSpec:
    return TableSpec(name, columns)


#: The postal and phone columns employees and customers share (never decoded: sensitive).
_CONTACT = (
    _str("address", 70),
    _str("city", 40),
    _str("state", 40),
    _str("country", 40),
    _str("postal_code", 10),
    _str("phone", 24),
    _str("fax", 24),
)

#: Captured tables in load order (parents before children): the Chinook store, then the app's users.
CAPTURED: tuple[TableSpec, ...] = (
    _table("artist", _key("artist_id"), _str("name", 120)),
    _table("album", _key("album_id"), _str("title", 160, null=False), _int("artist_id", null=False)),
    _table(
        "employee",
        _key("employee_id"),
        _str("last_name", 20, null=False),
        _str("first_name", 20, null=False),
        _str("title", 30),
        _int("reports_to"),
        _time("birth_date"),
        _time("hire_date"),
        *_CONTACT,
        _str("email", 60),
    ),
    _table(
        "customer",
        _key("customer_id"),
        _str("first_name", 40, null=False),
        _str("last_name", 20, null=False),
        _str("company", 80),
        *_CONTACT,
        _str("email", 60, null=False),
        _int("support_rep_id"),
    ),
    _table("genre", _key("genre_id"), _str("name", 120)),
    _table("media_type", _key("media_type_id"), _str("name", 120)),
    _table(
        "track",
        _key("track_id"),
        _str("name", 200, null=False),
        _int("album_id"),
        _int("media_type_id", null=False),
        _int("genre_id"),
        _str("composer", 220),
        _int("milliseconds", null=False),
        _int("bytes"),
        _money("unit_price"),
    ),
    _table(
        "invoice",
        _key("invoice_id"),
        _int("customer_id", null=False),
        _time("invoice_date", null=False),  # UTC wall time, as upstream (no zone)
        _str("billing_address", 70),
        _str("billing_city", 40),
        _str("billing_state", 40),
        _str("billing_country", 40),
        _str("billing_postal_code", 10),
        _money("total"),
    ),
    _table(
        "invoice_line",
        _key("invoice_line_id"),
        _int("invoice_id", null=False),
        _int("track_id", null=False),
        _money("unit_price"),
        _int("quantity", null=False),
    ),
    _table("playlist", _key("playlist_id"), _str("name", 120)),
    _table("playlist_track", _key("playlist_id"), _key("track_id")),
    _table(
        "users",
        _key("id"),
        _str("name", 120, null=False),
        _str("email", 255, null=False),
        _str("role", 20, null=False),  # admin | analyst | viewer
        _time("last_activity", zone=True),
        _time("created_at", null=False, zone=True),
    ),
)

CAPTURED_TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in CAPTURED)

#: The Chinook store's tables (every captured table but the app's `users`), in load order.
CHINOOK_TABLE_NAMES: tuple[str, ...] = tuple(n for n in CAPTURED_TABLE_NAMES if n != "users")

#: table name -> its primary-key columns, in order.
PRIMARY_KEYS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({t.name: t.primary_key for t in CAPTURED})

#: table name -> column name -> spec, for every table Debezium captures.
COLUMNS: MappingProxyType[str, MappingProxyType[str, ColumnSpec]] = MappingProxyType(
    {t.name: MappingProxyType({c.name: c for c in t.columns}) for t in CAPTURED}
)


def column_spec(table: str, column: str) -> ColumnSpec:
    """The spec of one captured column (KeyError if unknown)."""
    return COLUMNS[table][column]
