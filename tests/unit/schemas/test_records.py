"""Record types: derived from the table metadata, immutable, and free of sensitive columns."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas.columns import CAPTURED_TABLE_NAMES, COLUMNS, ColumnKind
from schemas.records import RECORD_TYPES, Invoice

SENSITIVE = {"email", "phone", "fax", "address", "company", "postal_code", "billing_address", "token_sha256"}


def test_every_captured_table_has_column_knowledge() -> None:
    assert set(COLUMNS) == set(CAPTURED_TABLE_NAMES)


def test_money_columns_are_numeric_10_2() -> None:
    for table, column in (("invoice", "total"), ("invoice_line", "unit_price"), ("track", "unit_price")):
        spec = COLUMNS[table][column]
        assert (spec.kind, spec.scale, spec.nullable) == (ColumnKind.DECIMAL, 2, False)
    assert COLUMNS["invoice"]["invoice_date"].kind is ColumnKind.TIMESTAMP
    assert COLUMNS["users"]["last_activity"].kind is ColumnKind.TIMESTAMPTZ


@pytest.mark.parametrize("table", sorted(RECORD_TYPES))
def test_records_hold_no_sensitive_column(table: str) -> None:
    record_type = RECORD_TYPES[table]
    names = {f.name for f in dataclasses.fields(record_type.cls)}
    assert names.isdisjoint(SENSITIVE)
    assert [c.name for c in record_type.columns] == [f.name for f in dataclasses.fields(record_type.cls)]
    assert record_type.primary_key in names


def test_records_are_frozen_and_slotted() -> None:
    invoice = Invoice(1, 2, datetime(2024, 1, 1, tzinfo=UTC), None, Decimal("1.00"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        invoice.total = Decimal("2.00")  # type: ignore[misc]
    assert not hasattr(invoice, "__dict__")
    assert hash(invoice) == hash(Invoice(1, 2, datetime(2024, 1, 1, tzinfo=UTC), None, Decimal("1.00")))
