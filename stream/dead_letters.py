"""Send a record that cannot be used to `chinook.dlq`, with the reason, and carry on."""

from __future__ import annotations

import logging

from faust.types import EventT

from schemas.dead_letter import build_dead_letter, encode_dead_letter
from stream.app import app, deltas_in, dlq, owner_input, partials
from stream.metrics import dead_lettered, expect_dead_letters_from

log = logging.getLogger(__name__)

#: The topics the owner and the merger read have their series from the start (stream.reference adds its own).
expect_dead_letters_from([*owner_input.topics, *partials.topics, *deltas_in.topics])


async def dead_letter(event: EventT, reason: str) -> None:
    """Route the event's original bytes to the dead-letter topic with why it was rejected."""
    message = event.message
    timestamp_ms = int(message.timestamp * 1000) if message.timestamp else None
    await dead_letter_record(
        message.topic, message.partition, message.offset, message.key, message.value, timestamp_ms, reason
    )


async def dead_letter_record(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    timestamp_ms: int | None,
    reason: str,
) -> None:
    """Dead-letter one record read outside a Faust stream (the reference loader's)."""
    letter = build_dead_letter(
        key=key,
        value=value,
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp_ms=timestamp_ms,
        reason=reason,
        worker=app.conf.id,
    )
    dlq_key, dlq_value = encode_dead_letter(letter)
    log.warning("dead letter %s/%s/%s: %s", topic, partition, offset, reason)
    await dlq.send(key=dlq_key, value=dlq_value)
    dead_lettered(topic)
