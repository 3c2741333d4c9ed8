"""Send a record that cannot be used to `chinook.dlq`, with the reason, and carry on."""

from __future__ import annotations

import logging

from faust.types import EventT

from schemas.dead_letter import build_dead_letter, encode_dead_letter
from stream.app import app, dlq

log = logging.getLogger(__name__)


async def dead_letter(event: EventT, reason: str) -> None:
    """Route the event's original bytes to the dead-letter topic with why it was rejected."""
    message = event.message
    letter = build_dead_letter(
        key=message.key,
        value=message.value,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
        reason=reason,
        worker=app.conf.id,
    )
    key, value = encode_dead_letter(letter)
    log.warning("dead letter %s/%s/%s: %s", message.topic, message.partition, message.offset, reason)
    await dlq.send(key=key, value=value)
