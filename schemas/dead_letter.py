"""The dead-letter record of `chinook.dlq`: what could not be parsed, and why.

Format (chosen for replay and for reading with any consumer): the Kafka **value** is one
compact JSON object; the original key and value bytes travel base64-encoded, so they come
back byte for byte (`null` = the original had no key / a null value, `""` = empty bytes)::

    {"format": 1, "source_topic": "chinook.public.invoice", "partition": 2, "offset": 1041,
     "timestamp_ms": 1717000000150, "key_b64": "eyJpbnZvaWNlX2lkIjo0MTJ9",
     "value_b64": "...", "reason": "invoice.total: expected base64 decimal bytes, got 12",
     "failed_at": "2024-05-29T16:26:40.150000Z", "worker": "chinook-pulse"}

The Kafka **key** is `"<topic>/<partition>/<offset>"`, unique per original record, so a
record dead-lettered twice (the worker reprocessed it after a crash) is recognisable, and
compaction (if ever enabled) keeps one copy. Caveat: base64 grows the payload by a third, so
an original near the broker's `max.message.bytes` needs a larger limit on `chinook.dlq`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas import jsonio

__all__ = [
    "FORMAT_VERSION",
    "DeadLetter",
    "DeadLetterFormatError",
    "build_dead_letter",
    "decode_dead_letter",
    "encode_dead_letter",
]

FORMAT_VERSION = 1
MAX_REASON = 2000


class DeadLetterFormatError(ValueError):
    """Bytes that are not a dead-letter record of a known format."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-lettered Kafka record and why it was rejected."""

    source_topic: str
    partition: int | None
    offset: int | None
    timestamp_ms: int | None  # the original record's Kafka timestamp
    key: bytes | None  # original key bytes, exactly
    value: bytes | None  # original value bytes, exactly
    reason: str
    failed_at: datetime  # aware UTC
    worker: str | None = None

    @property
    def kafka_key(self) -> bytes:
        """`<topic>/<partition>/<offset>`: identifies the original record."""
        return f"{self.source_topic}/{self.partition}/{self.offset}".encode()


def build_dead_letter(
    *,
    key: bytes | None,
    value: bytes | None,
    topic: str,
    partition: int | None,
    offset: int | None,
    timestamp_ms: int | None,
    reason: str,
    failed_at: datetime | None = None,
    worker: str | None = None,
) -> DeadLetter:
    """A dead letter for one record; `failed_at` defaults to now (UTC), `reason` is clipped."""
    when = failed_at or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    return DeadLetter(
        source_topic=topic,
        partition=partition,
        offset=offset,
        timestamp_ms=timestamp_ms,
        key=None if key is None else bytes(key),
        value=None if value is None else bytes(value),
        reason=reason,
        failed_at=when.astimezone(UTC),
        worker=worker,
    )


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def encode_dead_letter(letter: DeadLetter) -> tuple[bytes, bytes]:
    """`(kafka_key, kafka_value)` to produce to `chinook.dlq`."""
    doc = {
        "format": FORMAT_VERSION,
        "source_topic": letter.source_topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "timestamp_ms": letter.timestamp_ms,
        "key_b64": _b64(letter.key),
        "value_b64": _b64(letter.value),
        "reason": letter.reason,
        "failed_at": letter.failed_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "worker": letter.worker,
    }
    return letter.kafka_key, jsonio.dumps(doc)


def _field(doc: dict[str, Any], name: str, kind: type, optional: bool = True) -> Any:
    value = doc.get(name)
    if value is None and optional:
        return None
    if type(value) is not kind:
        raise DeadLetterFormatError(f"dead letter field {name!r} is not a {kind.__name__}")
    return value


def _unb64(doc: dict[str, Any], name: str) -> bytes | None:
    text = _field(doc, name, str)
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DeadLetterFormatError(f"dead letter field {name!r} is not base64") from exc


def decode_dead_letter(value: bytes) -> DeadLetter:
    """Read a `chinook.dlq` value back; raises `DeadLetterFormatError` if it is not one."""
    try:
        doc = jsonio.loads(value)
    except (ValueError, TypeError) as exc:
        raise DeadLetterFormatError(f"dead letter is not JSON: {exc}") from None
    if type(doc) is not dict:
        raise DeadLetterFormatError("dead letter is not a JSON object")
    if doc.get("format") != FORMAT_VERSION:
        raise DeadLetterFormatError(f"unknown dead letter format {doc.get('format')!r:.40}")
    try:
        failed_at = datetime.fromisoformat(_field(doc, "failed_at", str, optional=False))
    except ValueError as exc:
        raise DeadLetterFormatError("dead letter field 'failed_at' is not ISO-8601") from exc
    if failed_at.tzinfo is None:
        failed_at = failed_at.replace(tzinfo=UTC)
    return DeadLetter(
        source_topic=_field(doc, "source_topic", str, optional=False),
        partition=_field(doc, "partition", int),
        offset=_field(doc, "offset", int),
        timestamp_ms=_field(doc, "timestamp_ms", int),
        key=_unb64(doc, "key_b64"),
        value=_unb64(doc, "value_b64"),
        reason=_field(doc, "reason", str, optional=False),
        failed_at=failed_at.astimezone(UTC),
        worker=_field(doc, "worker", str),
    )
