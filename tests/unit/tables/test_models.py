"""The SQLAlchemy tables are built from the catalogue in `schemas/columns.py`, column for column."""

from __future__ import annotations

from sqlalchemy import DateTime, Numeric, String, Text

from schemas.columns import CAPTURED, CAPTURED_TABLE_NAMES, ColumnKind
from tables import models


def test_captured_tables_are_the_catalogue_in_order() -> None:
    assert tuple(t.name for t in models.CAPTURED_TABLES) == CAPTURED_TABLE_NAMES
    assert "user_token" not in CAPTURED_TABLE_NAMES
    for spec, table in zip(CAPTURED, models.CAPTURED_TABLES, strict=True):
        assert [c.name for c in table.columns] == [c.name for c in spec.columns]
        assert tuple(c.name for c in table.primary_key.columns) == spec.primary_key
        for column, sql in zip(spec.columns, table.columns, strict=True):
            assert sql.nullable == (column.nullable and not column.primary_key), (table.name, column.name)


def test_sql_types_follow_the_catalogue_kinds() -> None:
    total = models.invoice.c.total.type
    assert isinstance(total, Numeric) and (total.precision, total.scale) == (10, 2)
    assert isinstance(models.artist.c.name.type, String) and models.artist.c.name.type.length == 120
    assert isinstance(models.user_token.c.label.type, Text)
    last_activity = models.users.c.last_activity.type
    assert isinstance(last_activity, DateTime) and last_activity.timezone
    invoice_date = models.invoice.c.invoice_date.type
    assert isinstance(invoice_date, DateTime) and not invoice_date.timezone
    assert {c.kind for t in CAPTURED for c in t.columns} == set(ColumnKind)


def test_database_details_are_kept() -> None:
    assert models.users.c.email.unique
    assert models.users.c.created_at.server_default is not None
    assert [fk.target_fullname for fk in models.invoice_line.c.invoice_id.foreign_keys] == ["invoice.invoice_id"]
    assert models.invoice_line.c.invoice_id.index
