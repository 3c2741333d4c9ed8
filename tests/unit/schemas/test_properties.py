"""Property tests: whatever arrives, the parser answers with a typed result and never raises."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import jsonio
from schemas.columns import ColumnKind
from schemas.debezium import DebeziumParser, parse_record
from schemas.events import ChangeEvent, ParseFailure, Skipped, Tombstone
from schemas.records import RECORD_TYPES, Invoice
from tests.support.envelopes import MessageBuilder

TOPICS = st.sampled_from([f"chinook.public.{t}" for t in RECORD_TYPES] + ["chinook.public.playlist", "", "x"])
BUILDERS = st.builds(
    MessageBuilder,
    schemas_enable=st.booleans(),
    decimal_mode=st.sampled_from(["precise", "string", "double"]),
    time_precision_mode=st.just("adaptive"),
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_well_typed(result: Any) -> None:
    """The parser's contract: one of four results, and records hold exactly their types."""
    assert isinstance(result, ChangeEvent | Tombstone | Skipped | ParseFailure), result
    if isinstance(result, ParseFailure):
        assert isinstance(result.reason, str) and result.reason
    if not isinstance(result, ChangeEvent):
        return
    record_type = RECORD_TYPES[result.table]
    assert result.before is not None or result.after is not None
    for record in (result.before, result.after):
        if record is None:
            continue
        assert type(record) is record_type.cls
        for spec, field in zip(record_type.columns, fields(record), strict=True):
            value = getattr(record, field.name)
            if value is None:
                assert spec.nullable, (spec, record)
                continue
            expected = {
                ColumnKind.INT: int,
                ColumnKind.STR: str,
                ColumnKind.DECIMAL: Decimal,
                ColumnKind.TIMESTAMP: datetime,
                ColumnKind.TIMESTAMPTZ: datetime,
            }[spec.kind]
            assert type(value) is expected, (spec, value)
            if isinstance(value, Decimal):
                assert value.is_finite()
            if isinstance(value, datetime):
                assert value.utcoffset() == timedelta(0)


@SETTINGS
@given(key=st.none() | st.binary(max_size=64), value=st.none() | st.binary(max_size=256), topic=TOPICS)
def test_any_bytes(key: bytes | None, value: bytes | None, topic: str) -> None:
    assert_well_typed(parse_record(key, value, topic))


@SETTINGS
@given(key=JSON, value=JSON, topic=TOPICS, wrap=st.booleans())
def test_any_json(key: Any, value: Any, topic: str, wrap: bool) -> None:
    if wrap:
        value = {"schema": key, "payload": value}
    assert_well_typed(parse_record(jsonio.dumps(key), jsonio.dumps(value), topic))


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found += _paths(v, (*prefix, i))
    return found


def _valid_message(data: st.DataObject) -> tuple[MessageBuilder, str, bytes, bytes]:
    builder = data.draw(BUILDERS)
    op = data.draw(st.sampled_from(["c", "u", "d", "r"]))
    row = {
        "invoice_id": 1,
        "customer_id": 2,
        "invoice_date": datetime(2024, 5, 1, tzinfo=UTC),
        "billing_country": "Chile",
        "total": Decimal("1.98"),
    }
    before = row if op in "ud" else None
    after = None if op == "d" else row
    key, value = builder.change("invoice", op, before, after)
    return builder, "chinook.public.invoice", key, value


@SETTINGS
@given(data=st.data())
def test_mutated_envelopes(data: st.DataObject) -> None:
    _, topic, key, value = _valid_message(data)
    doc = jsonio.loads(value)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        if not path:
            doc = data.draw(JSON)
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JSON)
    assert_well_typed(parse_record(key, jsonio.dumps(doc), topic))


@SETTINGS
@given(data=st.data())
def test_damaged_bytes(data: st.DataObject) -> None:
    _, topic, key, value = _valid_message(data)
    raw = bytearray(value)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[at] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    damaged = bytes(raw[:cut] if data.draw(st.booleans()) else raw)
    parser = DebeziumParser()
    assert_well_typed(parser.parse(key, value, topic))  # warm the schema cache first
    assert_well_typed(parser.parse(key, damaged, topic))


MONEY = st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2)
MOMENTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@SETTINGS
@given(
    builder=BUILDERS,
    invoice_id=st.integers(min_value=1, max_value=2**31 - 1),
    moment=MOMENTS,
    country=st.none() | st.text(max_size=40),
    total=MONEY,
)
def test_valid_invoices_round_trip_exactly(
    builder: MessageBuilder, invoice_id: int, moment: datetime, country: str | None, total: Decimal
) -> None:
    row = {
        "invoice_id": invoice_id,
        "customer_id": 1,
        "invoice_date": moment,
        "billing_country": country,
        "total": total,
    }
    key, value = builder.change("invoice", "c", None, row)
    event = parse_record(key, value, builder.topic("invoice"))
    assert isinstance(event, ChangeEvent), event
    assert event.after == Invoice(invoice_id, 1, moment, country, total)
    assert event.after.total.as_tuple().exponent == -2
    assert_well_typed(event)
