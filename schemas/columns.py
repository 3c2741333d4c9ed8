"""What we know about each captured column, derived from `tables/models.py`.

Schemaless JSON (`schemas.enable=false`) carries no types, so the parser falls back on this
knowledge: which columns are integers, text, `NUMERIC(p, s)` (and their scale), `TIMESTAMP`
(no zone: read as UTC) or `TIMESTAMPTZ`. With schemas enabled the message's own schema wins,
and this table only says what Python type the record field must end up as.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import DateTime, Integer, Numeric, String, Text

from tables.models import CAPTURED_TABLES

__all__ = ["COLUMNS", "ColumnKind", "ColumnSpec", "column_spec"]


class ColumnKind(enum.Enum):
    """The Python type a column decodes to."""

    INT = "int"
    STR = "str"
    DECIMAL = "decimal"
    TIMESTAMP = "timestamp"  # without time zone: UTC wall time
    TIMESTAMPTZ = "timestamptz"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: its kind, its scale (DECIMAL only) and whether it may be NULL."""

    name: str
    kind: ColumnKind
    nullable: bool
    scale: int | None = None


def _kind_of(sql_type: Any) -> tuple[ColumnKind, int | None] | None:
    if isinstance(sql_type, Integer):
        return ColumnKind.INT, None
    if isinstance(sql_type, Numeric):
        return ColumnKind.DECIMAL, sql_type.scale if sql_type.scale is not None else 0
    if isinstance(sql_type, String | Text):
        return ColumnKind.STR, None
    if isinstance(sql_type, DateTime):
        return (ColumnKind.TIMESTAMPTZ if sql_type.timezone else ColumnKind.TIMESTAMP), None
    return None


def _build() -> dict[str, MappingProxyType[str, ColumnSpec]]:
    tables: dict[str, MappingProxyType[str, ColumnSpec]] = {}
    for table in CAPTURED_TABLES:
        specs: dict[str, ColumnSpec] = {}
        for column in table.columns:
            kind = _kind_of(column.type)
            if kind is not None:
                name = str(column.name)
                specs[name] = ColumnSpec(name, kind[0], bool(column.nullable), kind[1])
        tables[str(table.name)] = MappingProxyType(specs)
    return tables


#: table name -> column name -> spec, for every table Debezium captures.
COLUMNS: MappingProxyType[str, MappingProxyType[str, ColumnSpec]] = MappingProxyType(_build())


def column_spec(table: str, column: str) -> ColumnSpec:
    """The spec of one captured column (KeyError if unknown)."""
    return COLUMNS[table][column]
