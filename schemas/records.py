"""Typed rows of the tables the worker uses: frozen, slotted, money as `Decimal`.

Only the columns the worker needs are kept. Sensitive customer and user columns (email,
phone, address, fax, company) are never read from the change event, so they cannot leak.
Every timestamp is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from schemas.columns import COLUMNS, ColumnSpec

__all__ = [
    "RECORD_TYPES",
    "Album",
    "Artist",
    "Customer",
    "Genre",
    "Invoice",
    "InvoiceLine",
    "Record",
    "RecordType",
    "Track",
    "User",
]


@dataclass(frozen=True, slots=True)
class Invoice:
    invoice_id: int
    customer_id: int
    invoice_date: datetime
    billing_country: str | None
    total: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    invoice_line_id: int
    invoice_id: int
    track_id: int
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: int
    first_name: str
    last_name: str
    country: str | None


@dataclass(frozen=True, slots=True)
class Track:
    track_id: int
    name: str
    album_id: int | None
    genre_id: int | None
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Album:
    album_id: int
    title: str
    artist_id: int


@dataclass(frozen=True, slots=True)
class Artist:
    artist_id: int
    name: str | None


@dataclass(frozen=True, slots=True)
class Genre:
    genre_id: int
    name: str | None


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: str
    last_activity: datetime | None


Record = Invoice | InvoiceLine | Customer | Track | Album | Artist | Genre | User


@dataclass(frozen=True, slots=True)
class RecordType:
    """A record class and the source columns feeding its fields, in field order."""

    table: str
    cls: type[Record]
    columns: tuple[ColumnSpec, ...]

    @property
    def primary_key(self) -> str:
        """The record's first field is its table's primary key."""
        return self.columns[0].name


def _record_type(table: str, cls: type[Record]) -> RecordType:
    specs = COLUMNS[table]
    return RecordType(table, cls, tuple(specs[f.name] for f in fields(cls)))


#: table name -> record type, for the tables the worker uses. Other captured tables are skipped.
RECORD_TYPES: MappingProxyType[str, RecordType] = MappingProxyType(
    {
        "invoice": _record_type("invoice", Invoice),
        "invoice_line": _record_type("invoice_line", InvoiceLine),
        "customer": _record_type("customer", Customer),
        "track": _record_type("track", Track),
        "album": _record_type("album", Album),
        "artist": _record_type("artist", Artist),
        "genre": _record_type("genre", Genre),
        "users": _record_type("users", User),
    }
)
