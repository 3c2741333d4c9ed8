"""NUMERIC and time decoding, value by value."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from schemas import decoding as d
from tests.support.envelopes import decimal_to_precise


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- precise ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "scale", "expected"),
    [
        (b64(b"\x00"), 2, Decimal("0.00")),  # BigInteger.ZERO.toByteArray()
        (b64(b""), 2, Decimal("0.00")),
        (b64(b"\x05\x6a"), 2, Decimal("13.86")),  # 1386
        (b64(b"\xfa\x96"), 2, Decimal("-13.86")),  # -1386, two's complement
        (b64(b"\x63"), 2, Decimal("0.99")),
        (b64(b"\xff"), 2, Decimal("-0.01")),
        (b64(b"\x00\x80"), 2, Decimal("1.28")),  # leading 0x00 keeps it positive
        (b64(b"\x80"), 0, Decimal("-128")),
        (b64((99999999_99).to_bytes(5, "big", signed=True)), 2, Decimal("99999999.99")),
    ],
)
def test_precise_decimal(encoded: str, scale: int, expected: Decimal) -> None:
    got = d.decimal_from_precise(encoded, scale)
    assert got == expected
    assert got.as_tuple().exponent == -scale  # the scale is kept: 0.00, not 0


def test_precise_round_trips_the_builder() -> None:
    for text in ["0.00", "0.01", "-0.01", "1.99", "-1.99", "127.00", "-128.00", "12345678.90"]:
        assert d.decimal_from_precise(decimal_to_precise(Decimal(text), 2), 2) == Decimal(text)


def test_precise_is_exact_beyond_the_context_precision() -> None:
    unscaled = 10**40 + 7
    raw = unscaled.to_bytes(20, "big", signed=True)
    assert d.decimal_from_unscaled_bytes(raw, 3) == Decimal("10000000000000000000000000000000000000.007")


@pytest.mark.parametrize("bad", ["12.34", "not base64!", "QQ", "QQ=", 1386, None, ["AA=="], "A" * 200])
def test_precise_rejects(bad: object) -> None:
    with pytest.raises(d.DecodeError):
        d.decimal_from_precise(bad, 2)


# -- string, double, variable scale -----------------------------------------------------


@pytest.mark.parametrize("text", ["0.00", "13.86", "-13.86", "0", "-0.01", "1E+3", "99999999.99"])
def test_string_decimal(text: str) -> None:
    assert d.decimal_from_string(text) == Decimal(text)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "", " 1.0", "1_000", "١٢", "0x10", 1.5, None])
def test_string_decimal_rejects(bad: object) -> None:
    with pytest.raises(d.DecodeError):
        d.decimal_from_string(bad)


@pytest.mark.parametrize(
    ("number", "expected"),
    [(13.86, "13.86"), (-13.86, "-13.86"), (0.0, "0.00"), (-0.0, "0.00"), (0.1 + 0.2, "0.30"), (5, "5.00")],
)
def test_double_decimal_quantizes_to_the_column_scale(number: float, expected: str) -> None:
    got = d.decimal_from_double(number, 2)
    assert got == Decimal(expected)
    assert got.as_tuple().exponent == -2
    assert isinstance(got, Decimal)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1.5", True, None, 1e300])
def test_double_decimal_rejects(bad: object) -> None:
    with pytest.raises(d.DecodeError):
        d.decimal_from_double(bad, 2)


def test_variable_scale_decimal() -> None:
    assert d.decimal_from_variable_scale({"scale": 3, "value": b64(b"\xfa\x96")}) == Decimal("-1.386")
    assert d.decimal_from_variable_scale({"scale": 0, "value": b64(b"\x00")}) == Decimal(0)
    for bad in [
        {"scale": "3", "value": "AA=="},
        {"value": "AA=="},
        {"scale": 1},
        [],
        {"scale": 10**6, "value": "AA=="},
    ]:
        with pytest.raises(d.DecodeError):
            d.decimal_from_variable_scale(bad)


# -- time ------------------------------------------------------------------------------

MOMENT = datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC)
MICROS = 1714559415123456


def test_micro_milli_nano_timestamps_are_aware_utc() -> None:
    assert d.epoch_micros_to_datetime(MICROS) == MOMENT
    assert d.epoch_millis_to_datetime(MICROS // 1000) == MOMENT.replace(microsecond=123000)
    assert d.epoch_nanos_to_datetime(MICROS * 1000 + 789) == MOMENT
    assert d.epoch_micros_to_datetime(-1) == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert d.epoch_nanos_to_datetime(-1) == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert d.epoch_micros_to_datetime(0).tzinfo is UTC


@pytest.mark.parametrize("bad", [1.5, "1714559415123456", True, None, 2**63 - 1, -(2**63)])
def test_epoch_timestamps_reject(bad: object) -> None:
    with pytest.raises(d.DecodeError):
        d.epoch_micros_to_datetime(bad)
    with pytest.raises(d.DecodeError):
        d.epoch_millis_to_datetime(bad)


def test_zoned_timestamp() -> None:
    assert d.decode_zoned_timestamp("2024-05-01T10:30:15.123456Z") == MOMENT
    got = d.decode_zoned_timestamp("2024-05-01T12:30:15.123456+02:00")
    assert got == MOMENT and got.tzinfo is UTC
    assert d.decode_zoned_timestamp("2024-05-01T10:30:15Z") == MOMENT.replace(microsecond=0)
    for bad in ["2024-05-01T10:30:15", "yesterday", "", 1714559415, None]:
        with pytest.raises(d.DecodeError):
            d.decode_zoned_timestamp(bad)


def test_iso_timestamp_without_zone_is_utc() -> None:
    assert d.decode_timestamp_iso("2024-05-01T10:30:15.123456") == MOMENT
    plus_two = timezone(timedelta(hours=2))
    assert d.decode_timestamp_iso(MOMENT.astimezone(plus_two).isoformat()) == MOMENT


def test_date() -> None:
    assert d.epoch_days_to_date(19844) == date(2024, 5, 1)
    assert d.decode_date(0) == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(d.DecodeError):
        d.epoch_days_to_date(10**9)


def test_int_and_str() -> None:
    assert d.decode_int(5) == 5
    assert d.decode_str("x") == "x"
    for bad in [True, 1.0, "5", None]:
        with pytest.raises(d.DecodeError):
            d.decode_int(bad)
    with pytest.raises(d.DecodeError):
        d.decode_str(5)
    with pytest.raises(d.DecodeError, match="unavailable"):
        d.decode_str("__debezium_unavailable_value")
