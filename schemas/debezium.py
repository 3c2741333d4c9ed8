"""Parse Debezium PostgreSQL change records (JSON converter) into typed results.

`parse_record(key, value, topic)` is total: for any input it returns a `ChangeEvent`,
`Tombstone`, `Skipped` or `ParseFailure` and never raises. Both converter modes are read:

- `schemas.enable=true`: `{"schema": {...}, "payload": {...}}`. The schema decides how each
  column is decoded; the plan is cached by the schema's exact bytes, and when the bytes have
  Kafka Connect's layout (`{"schema":S,"payload":P}`) a cache hit skips parsing `S` at all.
- `schemas.enable=false`: the payload alone; columns are decoded from our own knowledge of
  the tables (`schemas.columns`) and `DecodingOptions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import jsonio
from schemas.columns import CAPTURED_TABLE_NAMES
from schemas.decoding import DecodeError
from schemas.events import (
    ChangeEvent,
    Key,
    KeyValue,
    Op,
    ParseFailure,
    ParseResult,
    SkipKind,
    Skipped,
    SourceInfo,
    Tombstone,
)
from schemas.records import RECORD_TYPES, RecordType
from schemas.rows import DecodingOptions, RowDecoder, plan_schemaless, plan_with_schema

__all__ = ["DebeziumParser", "parse_key", "parse_record", "table_of_topic"]

_SCHEMA_HEAD = b'{"schema":'
_PAYLOAD_SEP = b',"payload":'
_ROW_OPS: dict[Any, Op] = {op.value: op for op in Op}
_NOT_SNAPSHOT = frozenset({"false", ""})
_MAX_REASON = 500


def table_of_topic(topic: str | None) -> str | None:
    """`chinook.public.invoice` -> `invoice` (the last dot-separated part)."""
    if not isinstance(topic, str) or not topic:
        return None
    return topic.rsplit(".", 1)[-1]


def _json(raw: bytes, what: str) -> Any:
    try:
        return jsonio.loads(raw)
    except ValueError as exc:
        raise DecodeError(f"{what} is not valid JSON: {exc}") from None


def _is_envelope(doc: Any) -> bool:
    return type(doc) is dict and len(doc) == 2 and "schema" in doc and "payload" in doc


def parse_key(raw: bytes | None) -> Key:
    """Primary-key columns and values of a JSON message key, in either converter mode.

    An absent key (tables without a primary key, truncate events) is `()`.
    Raises `DecodeError` (a `ValueError`) for anything that is not a flat JSON object.
    """
    if raw is None or len(raw) == 0:
        return ()
    doc = _json(raw, "key")
    if _is_envelope(doc):
        doc = doc["payload"]
    if doc is None:
        return ()
    if type(doc) is not dict:
        raise DecodeError(f"key is not a JSON object: {type(doc).__name__}")
    pairs: list[tuple[str, KeyValue]] = []
    for name, value in doc.items():
        if value is not None and type(value) not in (int, str, float, bool):
            raise DecodeError(f"key column {name!r} is not a scalar")
        pairs.append((name, value))
    return tuple(pairs)


def _opt_int(source: Mapping[str, Any], name: str) -> int | None:
    value = source.get(name)
    if value is None or type(value) is int:
        return value
    raise DecodeError(f"source.{name} is not an integer: {value!r:.40}")


def _commit_lsn(sequence: Any) -> int | None:
    """First element of `source.sequence`, `'["lastCommitLsn","lsn"]'` (a JSON string)."""
    if sequence is None:
        return None
    try:
        items = jsonio.loads(sequence) if type(sequence) is str else None
    except ValueError:
        items = None
    if type(items) is not list or not items:
        raise DecodeError(f"source.sequence is malformed: {sequence!r:.60}")
    first = items[0]
    if first is None:
        return None
    if type(first) is str and first.isascii() and first.isdigit() and len(first) <= 20:
        return int(first)
    raise DecodeError(f"source.sequence is malformed: {sequence!r:.60}")


def _source_info(source: Any) -> SourceInfo:
    if type(source) is not dict:
        raise DecodeError("the event has no source block")
    snapshot = source.get("snapshot")
    if type(snapshot) is str:
        in_snapshot = snapshot not in _NOT_SNAPSHOT
    elif snapshot is None or type(snapshot) is bool:
        in_snapshot = bool(snapshot)
    else:
        raise DecodeError(f"source.snapshot is not a string: {snapshot!r:.40}")
    return SourceInfo(
        lsn=_opt_int(source, "lsn"),
        commit_lsn=_commit_lsn(source.get("sequence")),
        tx_id=_opt_int(source, "txId"),
        ts_ms=_opt_int(source, "ts_ms"),
        snapshot=in_snapshot,
    )


def _row_schema(envelope_schema: Any) -> Any:
    """The `...Value` struct schema of an `...Envelope` schema (from `after`, else `before`)."""
    if type(envelope_schema) is not dict:
        return None
    fields = envelope_schema.get("fields")
    if type(fields) is not list:
        return None
    by_name = {f.get("field"): f for f in fields if type(f) is dict}
    for name in ("after", "before"):
        candidate = by_name.get(name)
        if type(candidate) is dict and candidate.get("type") == "struct":
            return candidate
    return None


class _SchemaEntry:
    """One cached envelope schema and the row decoders planned from it (per table)."""

    __slots__ = ("decoders", "row_schema")

    def __init__(self, envelope_schema: Any) -> None:
        self.row_schema = _row_schema(envelope_schema)
        self.decoders: dict[str, RowDecoder] = {}

    def decoder(self, record_type: RecordType) -> RowDecoder:
        found = self.decoders.get(record_type.table)
        if found is None:
            if self.row_schema is None:
                found = RowDecoder(record_type, (), "envelope schema has no before/after struct")
            else:
                found = plan_with_schema(record_type, self.row_schema)
            self.decoders[record_type.table] = found
        return found


class DebeziumParser:
    """A reusable parser holding its plan caches. Not tied to one topic."""

    def __init__(
        self,
        options: DecodingOptions | None = None,
        *,
        record_types: Mapping[str, RecordType] = RECORD_TYPES,
        captured_tables: tuple[str, ...] = CAPTURED_TABLE_NAMES,
        cache_size: int = 256,
    ) -> None:
        self.options = options or DecodingOptions()
        self._record_types = dict(record_types)
        self._captured = frozenset(captured_tables)
        self._schemaless = {t: plan_schemaless(rt, self.options) for t, rt in self._record_types.items()}
        self._schemas: dict[bytes, _SchemaEntry] = {}
        self._cache_size = cache_size

    # -- public ------------------------------------------------------------------------

    def parse(self, key: bytes | None, value: bytes | None, topic: str) -> ParseResult:
        """Parse one Kafka record. Total: never raises, whatever the bytes."""
        hint = None
        try:
            hint = table_of_topic(topic)
            return self._parse(key, value, hint)
        except DecodeError as exc:
            return ParseFailure(_clip(str(exc)), hint)
        except Exception as exc:  # a bug or a pathological input: never let it escape
            return ParseFailure(_clip(f"unexpected {type(exc).__name__}: {exc}"), hint)

    def clear_cache(self) -> None:
        """Forget every cached schema plan."""
        self._schemas.clear()

    # -- internals ---------------------------------------------------------------------

    def _parse(self, key: bytes | None, value: bytes | None, hint: str | None) -> ParseResult:
        if value is not None and not isinstance(value, bytes):
            if not isinstance(value, bytearray | memoryview):
                raise DecodeError(f"value is {type(value).__name__}, not bytes")
            value = bytes(value)
        if key is not None and not isinstance(key, bytes):
            if not isinstance(key, bytearray | memoryview):
                raise DecodeError(f"key is {type(key).__name__}, not bytes")
            key = bytes(key)
        if value is None or len(value) == 0:
            return Tombstone(hint, parse_key(key))

        entry, payload = self._fast_envelope(value)
        if entry is None:
            doc = _json(value, "value")
            if _is_envelope(doc):
                payload = doc["payload"]
                if doc["schema"] is not None:
                    entry = self._entry(jsonio.dumps(doc["schema"]), doc["schema"])
            else:
                payload = doc
        if payload is None:
            return Tombstone(hint, parse_key(key))
        return self._event(key, payload, entry, hint)

    def _fast_envelope(self, value: bytes) -> tuple[_SchemaEntry | None, Any]:
        """Split Connect's `{"schema":S,"payload":P}` bytes; parse `S` only on a cache miss."""
        if not value.startswith(_SCHEMA_HEAD) or not value.endswith(b"}"):
            return None, None
        cut = value.find(_PAYLOAD_SEP, len(_SCHEMA_HEAD))
        if cut < 0:
            return None, None
        schema_bytes = value[len(_SCHEMA_HEAD) : cut]
        entry = self._schemas.get(schema_bytes)
        try:
            if entry is None:
                # A complete JSON object from the start to `cut` IS the schema: a cut inside a
                # string or a nested value could not parse as one whole object.
                schema = jsonio.loads(schema_bytes)
                if type(schema) is not dict:
                    return None, None
                payload = jsonio.loads(value[cut + len(_PAYLOAD_SEP) : -1])
                entry = self._entry(schema_bytes, schema)
            else:
                payload = jsonio.loads(value[cut + len(_PAYLOAD_SEP) : -1])
        except ValueError:
            return None, None  # not that layout after all: the general path decides
        return entry, payload

    def _entry(self, schema_key: bytes, schema: Any) -> _SchemaEntry:
        entry = self._schemas.get(schema_key)
        if entry is None:
            if len(self._schemas) >= self._cache_size:
                self._schemas.clear()
            entry = self._schemas[schema_key] = _SchemaEntry(schema)
        return entry

    def _event(self, key: bytes | None, payload: Any, entry: _SchemaEntry | None, hint: str | None) -> ParseResult:
        if type(payload) is not dict:
            raise DecodeError(f"payload is not a JSON object: {type(payload).__name__}")
        op = payload.get("op")
        source = payload.get("source")
        table = hint
        if type(source) is dict and type(source.get("table")) is str:
            table = source["table"]
        if op == "t":
            return Skipped(SkipKind.TRUNCATE, table, f"TRUNCATE of {table} (not applied)")
        if op == "m":
            return Skipped(SkipKind.MESSAGE, table, "logical decoding message")
        row_op = _ROW_OPS.get(op) if type(op) is str else None
        if row_op is None:
            raise DecodeError(f"unknown op {op!r:.40}")
        if table is None:
            raise DecodeError("cannot tell the table (no source.table, no topic)")
        record_type = self._record_types.get(table)
        if record_type is None:
            if table in self._captured:
                return Skipped(SkipKind.IGNORED_TABLE, table, f"table {table} is not used by the worker")
            return Skipped(SkipKind.UNKNOWN_TABLE, table, f"unknown table {table!r:.80}")

        decoder = entry.decoder(record_type) if entry is not None else self._schemaless[table]
        before_raw, after_raw = payload.get("before"), payload.get("after")
        if row_op is Op.DELETE:
            if before_raw is None:
                raise DecodeError(f"delete on {table} without a before image (REPLICA IDENTITY FULL?)")
            if after_raw is not None:
                raise DecodeError(f"delete on {table} with an after image")
        elif after_raw is None:
            raise DecodeError(f"op {row_op.value!r} on {table} without an after image")

        ts_ms = payload.get("ts_ms")
        if ts_ms is not None and type(ts_ms) is not int:
            raise DecodeError(f"ts_ms is not an integer: {ts_ms!r:.40}")
        return ChangeEvent(
            op=row_op,
            table=table,
            before=None if before_raw is None else decoder.decode(before_raw),
            after=None if after_raw is None else decoder.decode(after_raw),
            key=parse_key(key),
            source=_source_info(source),
            ts_ms=ts_ms,
        )


def _clip(reason: str) -> str:
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


_DEFAULT_PARSER = DebeziumParser()


def parse_record(key: bytes | None, value: bytes | None, topic: str) -> ParseResult:
    """Parse one Kafka record of a Debezium change topic with the default options. Never raises."""
    return _DEFAULT_PARSER.parse(key, value, topic)
