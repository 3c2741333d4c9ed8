"""Dead letters: built from a failed record, written to `chinook.dlq`, read back byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.dead_letter import (
    FORMAT_VERSION,
    DeadLetter,
    DeadLetterFormatError,
    build_dead_letter,
    decode_dead_letter,
    encode_dead_letter,
)
from schemas.debezium import parse_record
from schemas.events import ParseFailure

FAILED_AT = datetime(2024, 5, 29, 16, 26, 40, 150000, tzinfo=UTC)


def test_a_parse_failure_becomes_a_dead_letter_and_back() -> None:
    key, value = b'{"invoice_id":412}', b'{"op":"c","after":{"total":"??"}'
    failure = parse_record(key, value, "chinook.public.invoice")
    assert isinstance(failure, ParseFailure)
    letter = build_dead_letter(
        key=key,
        value=value,
        topic="chinook.public.invoice",
        partition=2,
        offset=1041,
        timestamp_ms=1_717_000_000_150,
        reason=failure.reason,
        failed_at=FAILED_AT,
        worker="chinook-pulse",
    )
    kafka_key, kafka_value = encode_dead_letter(letter)
    assert kafka_key == b"chinook.public.invoice/2/1041"
    doc = json.loads(kafka_value)
    assert doc["format"] == FORMAT_VERSION
    assert doc["failed_at"] == "2024-05-29T16:26:40.150000Z"
    assert doc["reason"].startswith("value is not valid JSON")
    assert decode_dead_letter(kafka_value) == letter


def test_none_and_empty_bytes_stay_distinct() -> None:
    for key, value in ((None, None), (b"", b""), (None, b"\x00\xff")):
        letter = build_dead_letter(
            key=key, value=value, topic="t", partition=None, offset=None, timestamp_ms=None, reason="r"
        )
        back = decode_dead_letter(encode_dead_letter(letter)[1])
        assert (back.key, back.value) == (key, value)
        assert back.failed_at.tzinfo is not None


def test_failed_at_is_utc_and_reason_is_clipped() -> None:
    local = datetime(2024, 5, 29, 18, 0, tzinfo=timezone(timedelta(hours=2)))
    letter = build_dead_letter(
        key=None, value=b"x", topic="t", partition=0, offset=1, timestamp_ms=1, reason="x" * 5000, failed_at=local
    )
    assert letter.failed_at == local and letter.failed_at.utcoffset() == timedelta(0)
    assert len(letter.reason) == 2000 and letter.reason.endswith("...")


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"{",
        b"[]",
        b'{"format":2}',
        b'{"format":1,"source_topic":"t","reason":"r"}',
        b'{"format":1,"source_topic":"t","reason":"r","failed_at":"never"}',
        b'{"format":1,"source_topic":"t","reason":"r","failed_at":"2024-01-01T00:00:00Z","key_b64":"!!"}',
        b'{"format":1,"source_topic":"t","reason":"r","failed_at":"2024-01-01T00:00:00Z","offset":"1"}',
    ],
)
def test_decode_rejects_what_is_not_a_dead_letter(value: bytes) -> None:
    with pytest.raises(DeadLetterFormatError):
        decode_dead_letter(value)


@given(
    key=st.none() | st.binary(max_size=64),
    value=st.none() | st.binary(max_size=256),
    topic=st.text(min_size=1, max_size=40),
    partition=st.none() | st.integers(min_value=0, max_value=1000),
    offset=st.none() | st.integers(min_value=0, max_value=2**62),
    reason=st.text(min_size=1, max_size=300),
)
def test_round_trip(
    key: bytes | None, value: bytes | None, topic: str, partition: int | None, offset: int | None, reason: str
) -> None:
    letter = build_dead_letter(
        key=key, value=value, topic=topic, partition=partition, offset=offset, timestamp_ms=None, reason=reason
    )
    assert isinstance(letter, DeadLetter)
    assert decode_dead_letter(encode_dead_letter(letter)[1]) == letter
