"""Envelope parsing: every op, both converter modes, every decimal mode, tombstones, skips."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from schemas import jsonio
from schemas.debezium import DebeziumParser, parse_key, parse_record
from schemas.events import ChangeEvent, Op, ParseFailure, Position, SkipKind, Skipped, Tombstone
from schemas.records import Customer, Invoice, InvoiceLine, Track, User
from schemas.rows import DecodingOptions
from tests.support.envelopes import MessageBuilder

WHEN = datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC)

INVOICE = {
    "invoice_id": 412,
    "customer_id": 7,
    "invoice_date": WHEN,
    "billing_address": "Ullevålsveien 14",
    "billing_city": "Oslo",
    "billing_country": "Norway",
    "billing_postal_code": "0171",
    "total": Decimal("13.86"),
}
CUSTOMER = {
    "customer_id": 7,
    "first_name": "Bjørn",
    "last_name": "Hansen",
    "company": "Secret AS",
    "address": "Ullevålsveien 14",
    "city": "Oslo",
    "country": "Norway",
    "phone": "+47 22 44 22 22",
    "fax": "+47 22 44 22 23",
    "email": "bjorn.hansen@yahoo.no",
    "support_rep_id": 4,
}
USER = {
    "id": 3,
    "name": "Ada",
    "email": "ada@example.com",
    "role": "analyst",
    "last_activity": WHEN,
    "created_at": datetime(2024, 1, 1, tzinfo=UTC),
}
LINE = {"invoice_line_id": 2240, "invoice_id": 412, "track_id": 3177, "unit_price": Decimal("0.99"), "quantity": 2}
TRACK = {
    "track_id": 3177,
    "name": "Hot Girl",
    "album_id": 251,
    "media_type_id": 3,
    "genre_id": 19,
    "milliseconds": 1325458,
    "unit_price": Decimal("1.99"),
}

MODES = [
    pytest.param(MessageBuilder(schemas_enable=s, decimal_mode=m), id=f"{'schema' if s else 'schemaless'}-{m}")
    for s in (True, False)
    for m in ("precise", "string", "double")
]


def parse(builder: MessageBuilder, table: str, key: bytes | None, value: bytes | None) -> Any:
    return parse_record(key, value, builder.topic(table))


def change(builder: MessageBuilder, table: str, op: str, before: Any, after: Any, **kw: Any) -> Any:
    key, value = builder.change(table, op, before, after, **kw)
    return parse(builder, table, key, value)


# -- ops -------------------------------------------------------------------------------


@pytest.mark.parametrize("builder", MODES)
def test_create_and_snapshot_read(builder: MessageBuilder) -> None:
    for op, expected_op in (("c", Op.CREATE), ("r", Op.READ)):
        event = change(builder, "invoice", op, None, INVOICE, snapshot="true" if op == "r" else "false")
        assert isinstance(event, ChangeEvent)
        assert event.op is expected_op
        assert event.table == "invoice"
        assert event.before is None
        assert event.after == Invoice(412, 7, WHEN, "Norway", Decimal("13.86"))
        assert event.record is event.after
        assert event.key == (("invoice_id", 412),)
        assert event.source.snapshot is (op == "r")
        assert isinstance(event.after.total, Decimal)
        assert event.after.invoice_date.tzinfo is UTC


@pytest.mark.parametrize("builder", MODES)
def test_update_carries_before_and_after(builder: MessageBuilder) -> None:
    moved = {**INVOICE, "invoice_date": datetime(2024, 5, 2, tzinfo=UTC), "total": Decimal("-1.98")}
    event = change(builder, "invoice", "u", INVOICE, moved)
    assert isinstance(event, ChangeEvent) and event.op is Op.UPDATE
    assert event.before == Invoice(412, 7, WHEN, "Norway", Decimal("13.86"))
    assert event.after == Invoice(412, 7, datetime(2024, 5, 2, tzinfo=UTC), "Norway", Decimal("-1.98"))


@pytest.mark.parametrize("builder", MODES)
def test_delete_has_before_only(builder: MessageBuilder) -> None:
    event = change(builder, "invoice_line", "d", LINE, None)
    assert isinstance(event, ChangeEvent) and event.op is Op.DELETE
    assert event.after is None
    assert event.before == InvoiceLine(2240, 412, 3177, Decimal("0.99"), 2)
    assert event.record == event.before


@pytest.mark.parametrize("builder", MODES)
@pytest.mark.parametrize("total", ["0.00", "0.01", "-0.01", "-13.86", "99999999.99", "-99999999.99", "127.99", "1.28"])
def test_money_in_every_mode(builder: MessageBuilder, total: str) -> None:
    event = change(builder, "invoice", "c", None, {**INVOICE, "total": Decimal(total)})
    assert isinstance(event, ChangeEvent)
    assert isinstance(event.after, Invoice)
    assert event.after.total == Decimal(total)
    assert str(event.after.total) == total  # scale 2 kept: "0.00", never "0" or a float repr


@pytest.mark.parametrize("builder", MODES)
def test_track_and_customer_keep_only_what_the_worker_needs(builder: MessageBuilder) -> None:
    track = change(builder, "track", "c", None, TRACK)
    assert track.after == Track(3177, "Hot Girl", 251, 19, Decimal("1.99"))
    customer = change(builder, "customer", "c", None, CUSTOMER)
    assert customer.after == Customer(7, "Bjørn", "Hansen", "Norway")
    names = {f.name for f in fields(Customer)}
    assert names.isdisjoint({"email", "phone", "fax", "address", "company"})
    assert "bjorn.hansen" not in repr(customer)
    assert "+47" not in repr(customer)


@pytest.mark.parametrize("builder", MODES)
def test_users_zoned_timestamp(builder: MessageBuilder) -> None:
    event = change(builder, "users", "u", USER, {**USER, "last_activity": None})
    assert event.before == User(3, "Ada", "analyst", WHEN)
    assert event.after == User(3, "Ada", "analyst", None)
    assert "ada@example.com" not in repr(event)


@pytest.mark.parametrize("schemas_enable", [True, False])
def test_time_precision_connect_mode(schemas_enable: bool) -> None:
    builder = MessageBuilder(schemas_enable=schemas_enable, time_precision_mode="connect")
    key, value = builder.change("invoice", "c", None, INVOICE)
    parser = DebeziumParser(None if schemas_enable else DecodingOptions(timestamp_unit="millis"))
    event = parser.parse(key, value, builder.topic("invoice"))
    assert isinstance(event, ChangeEvent) and isinstance(event.after, Invoice)
    assert event.after.invoice_date == WHEN.replace(microsecond=123000)


def test_other_time_encodings_with_schema() -> None:
    builder = MessageBuilder()
    key, value = builder.change("invoice", "c", None, INVOICE)
    doc = jsonio.loads(value)
    after_fields = doc["schema"]["fields"][1]["fields"]
    date_field = next(f for f in after_fields if f["field"] == "invoice_date")
    micros = doc["payload"]["after"]["invoice_date"]
    cases = {
        "io.debezium.time.NanoTimestamp": (micros * 1000, WHEN),
        "io.debezium.time.Timestamp": (micros // 1000, WHEN.replace(microsecond=123000)),
        "io.debezium.time.ZonedTimestamp": ("2024-05-01T12:30:15.123456+02:00", WHEN),
        "io.debezium.time.Date": (19844, datetime(2024, 5, 1, tzinfo=UTC)),
    }
    for name, (encoded, expected) in cases.items():
        date_field["name"] = name
        doc["payload"]["after"]["invoice_date"] = encoded
        event = parse_record(key, jsonio.dumps(doc), "chinook.public.invoice")
        assert isinstance(event, ChangeEvent), (name, event)
        assert isinstance(event.after, Invoice) and event.after.invoice_date == expected, name


def test_variable_scale_decimal_with_schema() -> None:
    builder = MessageBuilder()
    key, value = builder.change("invoice", "c", None, INVOICE)
    doc = jsonio.loads(value)
    total = next(f for f in doc["schema"]["fields"][1]["fields"] if f["field"] == "total")
    total.clear()
    total.update(
        {
            "type": "struct",
            "fields": [{"type": "int32", "field": "scale"}, {"type": "bytes", "field": "value"}],
            "optional": False,
            "name": "io.debezium.data.VariableScaleDecimal",
            "version": 1,
            "doc": "Variable scaled decimal",
            "field": "total",
        }
    )
    doc["payload"]["after"]["total"] = {"scale": 3, "value": "+pY="}  # -1386
    event = parse_record(key, jsonio.dumps(doc), "chinook.public.invoice")
    assert isinstance(event, ChangeEvent) and isinstance(event.after, Invoice)
    assert event.after.total == Decimal("-1.386")


# -- source position ---------------------------------------------------------------------


def test_source_position_and_sequence() -> None:
    builder = MessageBuilder()
    event = change(builder, "invoice", "c", None, INVOICE, lsn=24023128, commit_lsn=24023119, tx_id=555)
    assert event.source.lsn == 24023128
    assert event.source.commit_lsn == 24023119
    assert event.source.tx_id == 555
    assert event.source.ts_ms == 1_717_000_000_000
    assert event.ts_ms == 1_717_000_000_150
    assert event.position == Position(24023119, 24023128, 1)


def test_positions_order_by_commit_then_lsn_then_delete_first() -> None:
    builder = MessageBuilder()

    def pos(op: str, lsn: int, commit: int | None) -> Position:
        before = INVOICE if op in "ud" else None
        after = None if op == "d" else INVOICE
        event = change(builder, "invoice", op, before, after, lsn=lsn, commit_lsn=commit)
        assert event.position is not None
        return event.position

    # A later transaction can hold lower change LSNs (interleaved writers): commit order wins.
    assert pos("c", 100, 500) > pos("c", 900, 400)
    assert pos("u", 101, 500) > pos("u", 100, 500)
    # A primary-key update: delete then create at the same LSN.
    assert pos("d", 100, 500) < pos("c", 100, 500)
    # A redelivered event is not newer than itself.
    assert not pos("u", 100, 500) > pos("u", 100, 500)
    # Snapshot rows carry no lastCommitLsn: they sort before streamed changes.
    assert pos("r", 90, None) < pos("c", 91, 80)


@pytest.mark.parametrize("marker", ["true", "first", "last", "incremental", "first_in_data_collection"])
def test_snapshot_markers(marker: str) -> None:
    event = change(MessageBuilder(), "genre", "r", None, {"genre_id": 1, "name": "Rock"}, snapshot=marker)
    assert event.source.snapshot is True


def test_malformed_sequence_is_a_failure() -> None:
    key, value = MessageBuilder(schemas_enable=False).change("genre", "c", None, {"genre_id": 1, "name": "Rock"})
    doc = jsonio.loads(value)
    for bad in ["[", "[]", '["x","1"]', 5, '["²","1"]']:
        doc["source"]["sequence"] = bad
        assert isinstance(parse_record(key, jsonio.dumps(doc), "chinook.public.genre"), ParseFailure)
    doc["source"]["sequence"] = None
    assert isinstance(parse_record(key, jsonio.dumps(doc), "chinook.public.genre"), ChangeEvent)


# -- tombstones, truncates, skips ------------------------------------------------------------


@pytest.mark.parametrize("value", [None, b"", b"null", b'{"schema":null,"payload":null}'])
def test_tombstones(value: bytes | None) -> None:
    for key in (b'{"invoice_id":412}', MessageBuilder().key("invoice", INVOICE)):
        result = parse_record(key, value, "chinook.public.invoice")
        assert result == Tombstone("invoice", (("invoice_id", 412),))


@pytest.mark.parametrize("schemas_enable", [True, False])
def test_truncate_is_skipped(schemas_enable: bool) -> None:
    builder = MessageBuilder(schemas_enable=schemas_enable)
    result = parse_record(None, builder.truncate("invoice_line"), builder.topic("invoice_line"))
    assert isinstance(result, Skipped)
    assert result.kind is SkipKind.TRUNCATE and result.table == "invoice_line"


def test_ignored_and_unknown_tables_are_skipped() -> None:
    builder = MessageBuilder()
    playlist = change(builder, "playlist", "c", None, {"playlist_id": 1, "name": "Music"})
    assert isinstance(playlist, Skipped) and playlist.kind is SkipKind.IGNORED_TABLE
    employee = change(builder, "employee", "c", None, {"employee_id": 1, "first_name": "A", "last_name": "B"})
    assert isinstance(employee, Skipped) and employee.kind is SkipKind.IGNORED_TABLE
    key, value = builder.change("genre", "c", None, {"genre_id": 1, "name": "Rock"})
    doc = jsonio.loads(value)
    doc["payload"]["source"]["table"] = "user_token"
    unknown = parse_record(key, jsonio.dumps(doc), "chinook.public.genre")
    assert isinstance(unknown, Skipped) and unknown.kind is SkipKind.UNKNOWN_TABLE


def test_logical_message_is_skipped() -> None:
    value = b'{"op":"m","ts_ms":1,"source":{"table":""},"message":{"prefix":"x","content":"eA=="}}'
    result = parse_record(None, value, "chinook.message")
    assert isinstance(result, Skipped) and result.kind is SkipKind.MESSAGE


# -- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("builder", MODES)
def test_bad_rows_fail_with_the_column_named(builder: MessageBuilder) -> None:
    key, value = builder.change("invoice", "c", None, INVOICE)
    doc = jsonio.loads(value)
    payload = doc["payload"] if builder.schemas_enable else doc
    payload["after"]["total"] = True
    result = parse_record(key, jsonio.dumps(doc), "chinook.public.invoice")
    assert isinstance(result, ParseFailure)
    assert "invoice.total" in result.reason and result.table == "invoice"
    payload["after"]["total"] = payload["after"]["invoice_date"] = None
    result = parse_record(key, jsonio.dumps(doc), "chinook.public.invoice")
    assert isinstance(result, ParseFailure) and "missing or null" in result.reason


@pytest.mark.parametrize(
    ("op", "before", "after", "words"),
    [
        ("c", None, None, "without an after image"),
        ("u", INVOICE, None, "without an after image"),
        ("d", None, None, "without a before image"),
        ("d", INVOICE, INVOICE, "with an after image"),
        ("x", None, INVOICE, "unknown op"),
    ],
)
def test_inconsistent_envelopes_fail(op: str, before: Any, after: Any, words: str) -> None:
    builder = MessageBuilder(schemas_enable=False)
    key, value = builder.change("invoice", "c", None, INVOICE)
    doc = jsonio.loads(value)
    doc.update(op=op, before=builder.encode_row("invoice", before), after=builder.encode_row("invoice", after))
    result = parse_record(key, jsonio.dumps(doc), "chinook.public.invoice")
    assert isinstance(result, ParseFailure) and words in result.reason


def test_schema_that_cannot_feed_the_record_fails_every_time() -> None:
    builder = MessageBuilder()
    key, value = builder.change("invoice", "c", None, INVOICE)
    doc = jsonio.loads(value)
    for side in (0, 1):
        total = next(f for f in doc["schema"]["fields"][side]["fields"] if f["field"] == "total")
        total["type"] = "boolean"
        total.pop("name")
    doc["payload"]["after"]["total"] = True
    parser = DebeziumParser()
    for _ in range(2):  # the second time from the cache
        result = parser.parse(key, jsonio.dumps(doc), "chinook.public.invoice")
        assert isinstance(result, ParseFailure) and "cannot be read as decimal" in result.reason


@pytest.mark.parametrize(
    "value",
    [b"\xff\xfe", b"{", b"[]", b"42", b'"x"', b"{}", b'{"op":"c"}', b'{"schema":{},"payload":[]}', b"\x00" * 10],
)
def test_garbage_values_fail(value: bytes) -> None:
    result = parse_record(b'{"invoice_id":1}', value, "chinook.public.invoice")
    assert isinstance(result, ParseFailure)
    assert result.reason


def test_garbage_keys_fail() -> None:
    _, value = MessageBuilder().change("genre", "c", None, {"genre_id": 1, "name": "Rock"})
    for key in (b"{", b"[1]", b'{"a":{"b":1}}', b"\xff"):
        assert isinstance(parse_record(key, value, "chinook.public.genre"), ParseFailure)


def test_non_bytes_inputs_fail_cleanly() -> None:
    assert isinstance(parse_record(None, "text", "t"), ParseFailure)  # type: ignore[arg-type]
    assert isinstance(parse_record(123, b"{}", "t"), ParseFailure)  # type: ignore[arg-type]
    assert isinstance(parse_record(None, b"{}", None), ParseFailure)  # type: ignore[arg-type]
    result = parse_record(None, bytearray(b'{"op":"t","source":{"table":"invoice"}}'), "x")  # type: ignore[arg-type]
    assert isinstance(result, Skipped)


# -- keys, caching, layouts --------------------------------------------------------------------


def test_parse_key_both_modes() -> None:
    builder = MessageBuilder()
    assert parse_key(builder.key("playlist_track", {"playlist_id": 1, "track_id": 2})) == (
        ("playlist_id", 1),
        ("track_id", 2),
    )
    assert parse_key(b'{"invoice_id":412}') == (("invoice_id", 412),)
    assert parse_key(None) == () == parse_key(b"") == parse_key(b"null")


def test_pretty_printed_envelope_parses_like_compact() -> None:
    builder = MessageBuilder()
    key, value = builder.change("invoice", "u", INVOICE, INVOICE)
    pretty = json.dumps(json.loads(value), indent=2).encode()
    reordered = json.dumps({"payload": json.loads(value)["payload"], "schema": json.loads(value)["schema"]}).encode()
    expected = parse_record(key, value, "chinook.public.invoice")
    assert isinstance(expected, ChangeEvent)
    assert parse_record(key, pretty, "chinook.public.invoice") == expected
    assert parse_record(key, reordered, "chinook.public.invoice") == expected


def test_schema_plans_are_cached_and_bounded() -> None:
    builder = MessageBuilder()
    parser = DebeziumParser(cache_size=2)
    for table, row in (("invoice", INVOICE), ("invoice_line", LINE), ("invoice", INVOICE)):
        key, value = builder.change(table, "c", None, row)
        assert isinstance(parser.parse(key, value, builder.topic(table)), ChangeEvent)
    assert len(parser._schemas) == 2  # invoice's schema was reused, not planned twice
    key, value = builder.change("track", "c", None, TRACK)
    assert isinstance(parser.parse(key, value, builder.topic("track")), ChangeEvent)
    assert len(parser._schemas) <= 2
    parser.clear_cache()
    assert not parser._schemas


def test_payload_separator_inside_the_schema_does_not_confuse_the_fast_path() -> None:
    builder = MessageBuilder()
    key, value = builder.change("genre", "c", None, {"genre_id": 1, "name": "Rock"})
    doc = jsonio.loads(value)
    doc["schema"]["parameters"] = {"a": 1, "payload": {"op": "d"}}  # a nested "payload" key
    tricky = jsonio.dumps(doc)
    assert tricky.index(b',"payload":') < tricky.index(b',"payload":{"before"')
    parser = DebeziumParser()
    for _ in range(2):
        result = parser.parse(key, tricky, "chinook.public.genre")
        assert isinstance(result, ChangeEvent) and result.op is Op.CREATE


def test_schemaless_decimal_modes_can_be_pinned() -> None:
    builder = MessageBuilder(schemas_enable=False, decimal_mode="string")
    key, value = builder.change("invoice", "c", None, INVOICE)
    assert isinstance(
        DebeziumParser(DecodingOptions(decimal_mode="string")).parse(key, value, "x.invoice"), ChangeEvent
    )
    wrong = DebeziumParser(DecodingOptions(decimal_mode="precise")).parse(key, value, "x.invoice")
    assert isinstance(wrong, ParseFailure) and "invoice.total" in wrong.reason
