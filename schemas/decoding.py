"""Decoders for Debezium's encodings of `NUMERIC` and time values.

Every decoder takes one JSON value (already parsed, never None) and returns a Python value,
or raises `DecodeError` with a human-readable reason. Money is always `decimal.Decimal`.

References (Debezium PostgreSQL connector, "data type mappings"):

- `decimal.handling.mode=precise`: `org.apache.kafka.connect.data.Decimal`, the unscaled value
  as big-endian two's-complement bytes (base64 in JSON), the scale in `parameters.scale`.
- `decimal.handling.mode=string`: a plain decimal string; `double`: a JSON number.
- `io.debezium.data.VariableScaleDecimal`: `{"scale": int, "value": base64 bytes}`.
- `io.debezium.time.{Timestamp, MicroTimestamp, NanoTimestamp}`: int64 since the epoch, no zone
  (we read them as UTC); `io.debezium.time.ZonedTimestamp`: ISO-8601 string with offset;
  `io.debezium.time.Date`: int32 days since the epoch; `org.apache.kafka.connect.data.Timestamp`:
  int64 milliseconds.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

__all__ = [
    "DecodeError",
    "Decoder",
    "decimal_from_double",
    "decimal_from_precise",
    "decimal_from_string",
    "decimal_from_unscaled_bytes",
    "decimal_from_variable_scale",
    "decode_date",
    "decode_int",
    "decode_str",
    "decode_timestamp_iso",
    "decode_zoned_timestamp",
    "epoch_days_to_date",
    "epoch_micros_to_datetime",
    "epoch_millis_to_datetime",
    "epoch_nanos_to_datetime",
]

#: A decoder turns one non-null JSON value into a Python value or raises `DecodeError`.
Decoder = Callable[[Any], Any]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE = date(1970, 1, 1)

#: Longest unscaled value we accept, in bytes (NUMERIC's limit is ~131072 digits; ours are tiny).
MAX_DECIMAL_BYTES = 64
_MAX_SCALE = 1000

_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)
_BASE64_TEXT = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class DecodeError(ValueError):
    """A value that does not match the encoding its column promises."""


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- scalars ---------------------------------------------------------------------------


def decode_int(value: Any) -> int:
    """An integer column (int16/int32/int64); booleans and floats are refused."""
    if type(value) is int:
        return value
    raise DecodeError(f"expected an integer, got {_describe(value)}")


#: What Debezium writes for an unchanged TOASTed column it could not read (the connector's
#: default `unavailable.value.placeholder`): never a real value, so never let it through.
UNAVAILABLE_VALUE = "__debezium_unavailable_value"


def decode_str(value: Any) -> str:
    """A text column (Debezium's unavailable-value placeholder is refused)."""
    if type(value) is str:
        if value == UNAVAILABLE_VALUE:
            raise DecodeError("value unavailable (unchanged TOAST column without REPLICA IDENTITY FULL)")
        return value
    raise DecodeError(f"expected a string, got {_describe(value)}")


# -- NUMERIC ---------------------------------------------------------------------------


def _check_scale(scale: Any) -> int:
    if type(scale) is not int or not -_MAX_SCALE <= scale <= _MAX_SCALE:
        raise DecodeError(f"invalid decimal scale {_describe(scale)}")
    return scale


def decimal_from_unscaled_bytes(raw: bytes, scale: int) -> Decimal:
    """Big-endian two's-complement unscaled bytes and a scale -> an exact Decimal."""
    if len(raw) > MAX_DECIMAL_BYTES:
        raise DecodeError(f"decimal of {len(raw)} bytes is too long")
    unscaled = int.from_bytes(raw, "big", signed=True)
    # Built from text, so no decimal context (precision, rounding) is involved: exact.
    return Decimal(f"{unscaled}E{-_check_scale(scale)}")


def _b64(value: Any) -> bytes:
    if type(value) is not str or _BASE64_TEXT.fullmatch(value) is None:
        raise DecodeError(f"expected base64 decimal bytes, got {_describe(value)}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the regex already vouched
        raise DecodeError(f"invalid base64 {_describe(value)}") from exc


def decimal_from_precise(value: Any, scale: int) -> Decimal:
    """`decimal.handling.mode=precise`: base64 of the unscaled two's-complement bytes."""
    return decimal_from_unscaled_bytes(_b64(value), scale)


def decimal_from_string(value: Any) -> Decimal:
    """`decimal.handling.mode=string`: a plain decimal string (NaN and infinities refused)."""
    if type(value) is not str or len(value) > 200 or _DECIMAL_TEXT.fullmatch(value) is None:
        raise DecodeError(f"expected a decimal string, got {_describe(value)}")
    return Decimal(value)


def decimal_from_double(value: Any, scale: int) -> Decimal:
    """`decimal.handling.mode=double`: a JSON number, via `str(float)`, quantized to `scale`."""
    if type(value) is int:
        value = float(value)
    if type(value) is not float or not math.isfinite(value):
        raise DecodeError(f"expected a finite number, got {_describe(value)}")
    try:
        return Decimal(repr(value)).quantize(Decimal(1).scaleb(-_check_scale(scale)), ROUND_HALF_EVEN)
    except InvalidOperation as exc:
        raise DecodeError(f"number {_describe(value)} does not fit scale {scale}") from exc


def decimal_from_variable_scale(value: Any) -> Decimal:
    """`io.debezium.data.VariableScaleDecimal`: `{"scale": int, "value": base64 bytes}`."""
    if type(value) is not dict:
        raise DecodeError(f"expected a VariableScaleDecimal struct, got {_describe(value)}")
    return decimal_from_unscaled_bytes(_b64(value.get("value")), _check_scale(value.get("scale")))


# -- time ------------------------------------------------------------------------------


def _epoch_int(value: Any, unit: str) -> int:
    if type(value) is not int:
        raise DecodeError(f"expected an integer of {unit} since the epoch, got {_describe(value)}")
    return value


def _since_epoch(**delta: int) -> datetime:
    """EPOCH + timedelta(**delta); `DecodeError` when either step leaves datetime's range."""
    try:
        return EPOCH + timedelta(**delta)
    except OverflowError as exc:
        raise DecodeError("timestamp out of range") from exc


def epoch_micros_to_datetime(value: Any) -> datetime:
    """`io.debezium.time.MicroTimestamp` (TIMESTAMP without zone, read as UTC)."""
    return _since_epoch(microseconds=_epoch_int(value, "microseconds"))


def epoch_millis_to_datetime(value: Any) -> datetime:
    """`io.debezium.time.Timestamp` and `org.apache.kafka.connect.data.Timestamp` (millis)."""
    return _since_epoch(milliseconds=_epoch_int(value, "milliseconds"))


def epoch_nanos_to_datetime(value: Any) -> datetime:
    """`io.debezium.time.NanoTimestamp`; sub-microsecond digits are floored away."""
    return _since_epoch(microseconds=_epoch_int(value, "nanoseconds") // 1000)


def epoch_days_to_date(value: Any) -> date:
    """`io.debezium.time.Date`: days since 1970-01-01."""
    days = _epoch_int(value, "days")
    try:
        return EPOCH_DATE + timedelta(days=days)
    except OverflowError as exc:
        raise DecodeError("date out of range") from exc


def decode_date(value: Any) -> datetime:
    """`io.debezium.time.Date` where a timestamp is expected: midnight UTC of that day."""
    day = epoch_days_to_date(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _iso(value: Any) -> datetime:
    if type(value) is not str or len(value) > 64:
        raise DecodeError(f"expected an ISO-8601 timestamp, got {_describe(value)}")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise DecodeError(f"invalid ISO-8601 timestamp {_describe(value)}") from exc


def _in_utc(parsed: datetime) -> datetime:
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise DecodeError("timestamp out of range") from exc


def decode_zoned_timestamp(value: Any) -> datetime:
    """`io.debezium.time.ZonedTimestamp`: ISO-8601 with an offset, returned in UTC."""
    parsed = _iso(value)
    if parsed.tzinfo is None:
        raise DecodeError(f"zoned timestamp without offset {_describe(value)}")
    return _in_utc(parsed)


def decode_timestamp_iso(value: Any) -> datetime:
    """An ISO-8601 timestamp string; without an offset it is read as UTC."""
    parsed = _iso(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else _in_utc(parsed)
