"""Row decoders: a Debezium `before`/`after` struct (a JSON object) -> a typed record.

A `RowDecoder` is planned once per (table, Connect schema) and reused for every event with
that schema, so no schema walking happens per event. Without a schema (`schemas.enable=false`)
the plan comes from our own column knowledge (`schemas.columns`) and `DecodingOptions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from schemas import decoding as d
from schemas.columns import ColumnKind, ColumnSpec
from schemas.records import Record, RecordType

__all__ = ["DecodingOptions", "RowDecoder", "plan_schemaless", "plan_with_schema"]

DECIMAL_SCHEMA = "org.apache.kafka.connect.data.Decimal"
VARIABLE_SCALE_DECIMAL = "io.debezium.data.VariableScaleDecimal"
CONNECT_TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"
_INT_TYPES = frozenset({"int8", "int16", "int32", "int64"})
_FLOAT_TYPES = frozenset({"float", "double", "float32", "float64"})

_TIME_DECODERS: dict[str, d.Decoder] = {
    "io.debezium.time.MicroTimestamp": d.epoch_micros_to_datetime,
    "io.debezium.time.Timestamp": d.epoch_millis_to_datetime,
    "io.debezium.time.NanoTimestamp": d.epoch_nanos_to_datetime,
    "io.debezium.time.ZonedTimestamp": d.decode_zoned_timestamp,
    "io.debezium.time.Date": d.decode_date,
    CONNECT_TIMESTAMP: d.epoch_millis_to_datetime,
}


@dataclass(frozen=True, slots=True)
class DecodingOptions:
    """How to read values when the message carries no schema (`schemas.enable=false`).

    - `decimal_mode`: the connector's `decimal.handling.mode`. `"auto"` tells the modes apart by
      shape: a JSON number is `double`, an object is `VariableScaleDecimal`, a string with a `.`
      (string mode always prints the scale's digits, e.g. `"1234.00"`) is `string`, any other
      valid base64 string is `precise`. Exact for our NUMERIC(10,2) columns; pin the mode if
      a scale-0 NUMERIC is ever captured.
    - `timestamp_unit`: unit of integer `TIMESTAMP` values: `"micros"` for the default
      `time.precision.mode=adaptive` (MicroTimestamp), `"millis"` for `connect`.
    """

    decimal_mode: Literal["auto", "precise", "string", "double"] = "auto"
    timestamp_unit: Literal["micros", "millis", "nanos"] = "micros"


class RowDecoder:
    """Decodes one row object into its record type, or raises `DecodeError`."""

    __slots__ = ("_cls", "_error", "_steps", "table")

    def __init__(
        self,
        record_type: RecordType,
        steps: tuple[tuple[str, d.Decoder, bool], ...],
        error: str | None = None,
    ) -> None:
        self.table = record_type.table
        self._cls = record_type.cls
        self._steps = steps
        self._error = error

    def decode(self, row: Any) -> Record:
        """The record for a row object (`DecodeError` names the failing column)."""
        if self._error is not None:
            raise d.DecodeError(self._error)
        if type(row) is not dict:
            raise d.DecodeError(f"{self.table}: row is not an object: {type(row).__name__}")
        values: list[Any] = []
        for name, decoder, required in self._steps:
            value = row.get(name)
            if value is None:
                if required:
                    raise d.DecodeError(f"{self.table}.{name} is missing or null")
                values.append(None)
                continue
            try:
                values.append(decoder(value))
            except d.DecodeError as exc:
                raise d.DecodeError(f"{self.table}.{name}: {exc}") from None
        return self._cls(*values)


# -- schemaless ------------------------------------------------------------------------


def _auto_decimal(scale: int) -> d.Decoder:
    def decode(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            if "." in value:
                return d.decimal_from_string(value)
            try:
                return d.decimal_from_precise(value, scale)
            except d.DecodeError:
                return d.decimal_from_string(value)
        if kind is float or kind is int:
            return d.decimal_from_double(value, scale)
        if kind is dict:
            return d.decimal_from_variable_scale(value)
        raise d.DecodeError(f"expected a decimal, got {type(value).__name__}")

    return decode


def _schemaless_decimal(scale: int, mode: str) -> d.Decoder:
    if mode == "precise":
        return lambda value: (
            d.decimal_from_variable_scale(value) if type(value) is dict else d.decimal_from_precise(value, scale)
        )
    if mode == "string":
        return d.decimal_from_string
    if mode == "double":
        return lambda value: d.decimal_from_double(value, scale)
    return _auto_decimal(scale)


def _schemaless_timestamp(unit: str) -> d.Decoder:
    from_int = {
        "micros": d.epoch_micros_to_datetime,
        "millis": d.epoch_millis_to_datetime,
        "nanos": d.epoch_nanos_to_datetime,
    }[unit]

    def decode(value: Any) -> Any:
        return d.decode_timestamp_iso(value) if type(value) is str else from_int(value)

    return decode


def _schemaless_decoder(spec: ColumnSpec, options: DecodingOptions) -> d.Decoder:
    kind = spec.kind
    if kind is ColumnKind.INT:
        return d.decode_int
    if kind is ColumnKind.STR:
        return d.decode_str
    if kind is ColumnKind.DECIMAL:
        return _schemaless_decimal(spec.scale or 0, options.decimal_mode)
    if kind is ColumnKind.TIMESTAMP:
        return _schemaless_timestamp(options.timestamp_unit)
    return d.decode_zoned_timestamp


def plan_schemaless(record_type: RecordType, options: DecodingOptions) -> RowDecoder:
    """A decoder driven by our column knowledge (no Connect schema in the message)."""
    steps = tuple((spec.name, _schemaless_decoder(spec, options), not spec.nullable) for spec in record_type.columns)
    return RowDecoder(record_type, steps)


# -- with a Connect schema -------------------------------------------------------------


def _field_decoder(spec: ColumnSpec, field: Mapping[str, Any]) -> d.Decoder:
    """The decoder for one column given its Connect field schema (raises `DecodeError`)."""
    ftype, name = field.get("type"), field.get("name")
    kind = spec.kind
    if kind is ColumnKind.INT and ftype in _INT_TYPES and name is None:
        return d.decode_int
    if kind is ColumnKind.STR and ftype == "string":
        return d.decode_str
    if kind is ColumnKind.DECIMAL:
        if name == DECIMAL_SCHEMA and ftype == "bytes":
            params = field.get("parameters")
            raw_scale: Any = params.get("scale") if isinstance(params, Mapping) else None
            # Connect writes parameters as strings: {"scale": "2", "connect.decimal.precision": "10"}
            if type(raw_scale) is str and raw_scale.isascii() and raw_scale.isdigit() and len(raw_scale) <= 4:
                scale = int(raw_scale)
            elif type(raw_scale) is int and 0 <= raw_scale <= 1000:
                scale = raw_scale
            else:
                raise d.DecodeError(f"Decimal schema without a valid scale: {raw_scale!r:.40}")
            return lambda value: d.decimal_from_precise(value, scale)
        if name == VARIABLE_SCALE_DECIMAL and ftype == "struct":
            return d.decimal_from_variable_scale
        if ftype == "string" and name is None:
            return d.decimal_from_string
        if ftype in _FLOAT_TYPES and name is None:
            scale = spec.scale or 0
            return lambda value: d.decimal_from_double(value, scale)
    if kind is ColumnKind.TIMESTAMP or kind is ColumnKind.TIMESTAMPTZ:
        if isinstance(name, str) and name in _TIME_DECODERS:
            return _TIME_DECODERS[name]
        if ftype == "string" and name is None:
            return d.decode_timestamp_iso
    raise d.DecodeError(f"schema type {ftype!r} (name {name!r}) cannot be read as {kind.value}")


def plan_with_schema(record_type: RecordType, row_schema: Any) -> RowDecoder:
    """A decoder for rows described by a Connect struct schema (`...Value`).

    Never raises: a schema that cannot feed the record yields a decoder that always fails
    with the reason, so the (cached) verdict costs nothing on the next event.
    """
    fields = row_schema.get("fields") if isinstance(row_schema, Mapping) else None
    if not isinstance(fields, list):
        return RowDecoder(record_type, (), f"{record_type.table}: row schema has no field list")
    by_name = {f.get("field"): f for f in fields if isinstance(f, Mapping)}
    steps: list[tuple[str, d.Decoder, bool]] = []
    for spec in record_type.columns:
        field = by_name.get(spec.name)
        if field is None:
            if not spec.nullable:
                return RowDecoder(record_type, (), f"{record_type.table}.{spec.name} missing from schema")
            # Not in the schema, so normally absent from rows too; read by shape if present.
            steps.append((spec.name, _schemaless_decoder(spec, DecodingOptions()), False))
            continue
        try:
            steps.append((spec.name, _field_decoder(spec, field), not spec.nullable))
        except d.DecodeError as exc:
            return RowDecoder(record_type, (), f"{record_type.table}.{spec.name}: {exc}")
    return RowDecoder(record_type, tuple(steps))
