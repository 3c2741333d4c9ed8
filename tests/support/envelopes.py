"""Build realistic Debezium PostgreSQL change records, for tests and benchmarks.

The layout follows the Debezium 2.x PostgreSQL connector with Kafka Connect's JsonConverter
(compact JSON, `schema` before `payload`): `source` block with `sequence`, `lsn`, `txId`;
NUMERIC per `decimal.handling.mode`; TIMESTAMP per `time.precision.mode`; TIMESTAMPTZ as
`ZonedTimestamp`. Rows are given as Python values (int, str, Decimal, aware datetime, None).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from schemas import jsonio
from schemas.columns import COLUMNS, PRIMARY_KEYS, ColumnKind, ColumnSpec

__all__ = ["MessageBuilder", "decimal_to_precise", "zoned"]

_SOURCE_SCHEMA: dict[str, Any] = {
    "type": "struct",
    "fields": [
        {"type": "string", "optional": False, "field": "version"},
        {"type": "string", "optional": False, "field": "connector"},
        {"type": "string", "optional": False, "field": "name"},
        {"type": "int64", "optional": False, "field": "ts_ms"},
        {
            "type": "string",
            "optional": True,
            "name": "io.debezium.data.Enum",
            "version": 1,
            "parameters": {
                "allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"
            },
            "default": "false",
            "field": "snapshot",
        },
        {"type": "string", "optional": False, "field": "db"},
        {"type": "string", "optional": True, "field": "sequence"},
        {"type": "int64", "optional": True, "field": "ts_us"},
        {"type": "int64", "optional": True, "field": "ts_ns"},
        {"type": "string", "optional": False, "field": "schema"},
        {"type": "string", "optional": False, "field": "table"},
        {"type": "int64", "optional": True, "field": "txId"},
        {"type": "int64", "optional": True, "field": "lsn"},
        {"type": "int64", "optional": True, "field": "xmin"},
    ],
    "optional": False,
    "name": "io.debezium.connector.postgresql.Source",
    "field": "source",
}

_TRANSACTION_SCHEMA: dict[str, Any] = {
    "type": "struct",
    "fields": [
        {"type": "string", "optional": False, "field": "id"},
        {"type": "int64", "optional": False, "field": "total_order"},
        {"type": "int64", "optional": False, "field": "data_collection_order"},
    ],
    "optional": True,
    "name": "event.block",
    "version": 1,
    "field": "transaction",
}


def decimal_to_precise(value: Decimal, scale: int) -> str:
    """Base64 of the minimal big-endian two's-complement unscaled bytes (Java BigInteger)."""
    unscaled = int(value.scaleb(scale).to_integral_exact())
    length = (unscaled.bit_length() + 8) // 8
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


def zoned(value: datetime) -> str:
    """Debezium's ZonedTimestamp text: ISO-8601 in UTC with a `Z`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _epoch_micros(value: datetime) -> int:
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class MessageBuilder:
    """Makes `(key_bytes, value_bytes)` pairs as the connector would write them."""

    schemas_enable: bool = True
    decimal_mode: Literal["precise", "string", "double"] = "precise"
    time_precision_mode: Literal["adaptive", "connect"] = "adaptive"
    topic_prefix: str = "chinook"
    version: str = "2.7.3.Final"

    def topic(self, table: str) -> str:
        return f"{self.topic_prefix}.public.{table}"

    # -- schemas ---------------------------------------------------------------------

    def _column_schema(self, spec: ColumnSpec, is_key: bool = False) -> dict[str, Any]:
        field: dict[str, Any] = {"type": "string", "optional": spec.nullable and not is_key}
        if spec.kind is ColumnKind.INT:
            field["type"] = "int32"
            if not field["optional"]:
                field["default"] = 0
        elif spec.kind is ColumnKind.DECIMAL:
            if self.decimal_mode == "precise":
                field.update(
                    type="bytes",
                    name="org.apache.kafka.connect.data.Decimal",
                    version=1,
                    parameters={"scale": str(spec.scale), "connect.decimal.precision": "10"},
                )
            elif self.decimal_mode == "double":
                field["type"] = "double"
        elif spec.kind is ColumnKind.TIMESTAMP:
            name = (
                "io.debezium.time.MicroTimestamp"
                if self.time_precision_mode == "adaptive"
                else "org.apache.kafka.connect.data.Timestamp"
            )
            field.update(type="int64", name=name, version=1)
        elif spec.kind is ColumnKind.TIMESTAMPTZ:
            field.update(name="io.debezium.time.ZonedTimestamp", version=1)
        field["field"] = spec.name
        return field

    def value_schema(self, table: str) -> dict[str, Any]:
        """The `...Envelope` schema of a table's change events."""
        row = {
            "type": "struct",
            "fields": [self._column_schema(spec) for spec in COLUMNS[table].values()],
            "optional": True,
            "name": f"{self.topic(table)}.Value",
        }
        return {
            "type": "struct",
            "fields": [
                {**row, "field": "before"},
                {**row, "field": "after"},
                _SOURCE_SCHEMA,
                _TRANSACTION_SCHEMA,
                {"type": "string", "optional": False, "field": "op"},
                {"type": "int64", "optional": True, "field": "ts_ms"},
                {"type": "int64", "optional": True, "field": "ts_us"},
                {"type": "int64", "optional": True, "field": "ts_ns"},
            ],
            "optional": False,
            "name": f"{self.topic(table)}.Envelope",
            "version": 2,
        }

    def key_schema(self, table: str) -> dict[str, Any]:
        specs = COLUMNS[table]
        return {
            "type": "struct",
            "fields": [self._column_schema(specs[c], is_key=True) for c in PRIMARY_KEYS[table]],
            "optional": False,
            "name": f"{self.topic(table)}.Key",
        }

    # -- values ----------------------------------------------------------------------

    def encode_value(self, spec: ColumnSpec, value: Any) -> Any:
        """One column value as the connector writes it in JSON."""
        if value is None:
            return None
        if spec.kind is ColumnKind.DECIMAL:
            scale = spec.scale or 0
            quantized = Decimal(value).quantize(Decimal(1).scaleb(-scale))
            if self.decimal_mode == "precise":
                return decimal_to_precise(quantized, scale)
            if self.decimal_mode == "string":
                return format(quantized, "f")
            return float(quantized)
        if spec.kind is ColumnKind.TIMESTAMP:
            micros = _epoch_micros(value)
            return micros if self.time_precision_mode == "adaptive" else micros // 1000
        if spec.kind is ColumnKind.TIMESTAMPTZ:
            return zoned(value)
        return value

    def encode_row(self, table: str, row: dict[str, Any] | None) -> dict[str, Any] | None:
        """A whole row (every column of the table, missing ones as NULL) in JSON form."""
        if row is None:
            return None
        return {name: self.encode_value(spec, row.get(name)) for name, spec in COLUMNS[table].items()}

    def _wrap(self, schema: dict[str, Any], payload: Any) -> bytes:
        if self.schemas_enable:
            return jsonio.dumps({"schema": schema, "payload": payload})
        return jsonio.dumps(payload)

    def key(self, table: str, row: dict[str, Any]) -> bytes:
        """The message key: the primary-key columns of `row`."""
        payload = {c: row[c] for c in PRIMARY_KEYS[table]}
        return self._wrap(self.key_schema(table), payload)

    def source(
        self,
        table: str,
        *,
        lsn: int,
        commit_lsn: int | None,
        tx_id: int | None,
        ts_ms: int,
        snapshot: str,
    ) -> dict[str, Any]:
        sequence = jsonio.dumps([None if commit_lsn is None else str(commit_lsn), str(lsn)]).decode()
        return {
            "version": self.version,
            "connector": "postgresql",
            "name": self.topic_prefix,
            "ts_ms": ts_ms,
            "snapshot": snapshot,
            "db": "chinook",
            "sequence": sequence,
            "ts_us": ts_ms * 1000,
            "ts_ns": ts_ms * 1_000_000,
            "schema": "public",
            "table": table,
            "txId": tx_id,
            "lsn": lsn,
            "xmin": None,
        }

    def change(
        self,
        table: str,
        op: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        *,
        lsn: int = 24_023_128,
        commit_lsn: int | None = 24_023_119,
        tx_id: int | None = 555,
        ts_ms: int = 1_717_000_000_000,
        snapshot: str = "false",
    ) -> tuple[bytes, bytes]:
        """`(key, value)` of a change event; `op` is `c`, `u`, `d`, `r` (or anything, for tests)."""
        row = after if after is not None else before
        assert row is not None, "a change needs a before or an after row"
        payload = {
            "before": self.encode_row(table, before),
            "after": self.encode_row(table, after),
            "source": self.source(table, lsn=lsn, commit_lsn=commit_lsn, tx_id=tx_id, ts_ms=ts_ms, snapshot=snapshot),
            "transaction": None,
            "op": op,
            "ts_ms": ts_ms + 150,
            "ts_us": (ts_ms + 150) * 1000,
            "ts_ns": (ts_ms + 150) * 1_000_000,
        }
        return self.key(table, row), self._wrap(self.value_schema(table), payload)

    def truncate(self, table: str, *, lsn: int = 24_023_200, ts_ms: int = 1_717_000_000_000) -> bytes:
        """The value of a truncate event (its key is null)."""
        payload = {
            "source": self.source(table, lsn=lsn, commit_lsn=lsn - 8, tx_id=556, ts_ms=ts_ms, snapshot="false"),
            "transaction": None,
            "op": "t",
            "ts_ms": ts_ms + 150,
        }
        return self._wrap(self.value_schema(table), payload)
