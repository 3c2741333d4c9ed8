"""Send a delta (before its seq) to `chinook.deltas.in`; the sequencer numbers it per channel.

With `PUBLISH_AFTER_CATCH_UP` (experimental), nothing is sent before the worker group has caught up
with the change history (`stream.catch_up`).
"""

from __future__ import annotations

import time
from typing import Any

from schemas.messages import Unsequenced
from stream.app import deltas_in, settings
from stream.catch_up import caught_up

SALES = "private-admin.sales"
INVOICES = "private-admin.invoices"
USERS = "private-admin.users"
TRACKS = "private-admin.tracks"


async def publish(channel: str, event: str, data: dict[str, Any]) -> bool:
    """Send the delta; with PUBLISH_AFTER_CATCH_UP, False (nothing sent) until the group has caught up."""
    if settings.publish_after_catch_up and not caught_up():
        return False
    message = Unsequenced(channel, event, data, ts_ms=int(time.time() * 1000))
    await deltas_in.send(key=channel.encode(), value=message.encode())
    return True


class LastPublished:
    """What each (channel, event) last carried, so unchanged state is not published again."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], Any] = {}

    def changed(self, channel: str, event: str, data: Any) -> bool:
        return self._last.get((channel, event)) != data

    def remember(self, channel: str, event: str, data: Any) -> None:
        self._last[(channel, event)] = data

    def forget(self) -> None:
        self._last.clear()

    async def publish_if_changed(self, channel: str, event: str, data: dict[str, Any]) -> bool:
        if not self.changed(channel, event, data):
            return False
        if not await publish(channel, event, data):
            return False
        self.remember(channel, event, data)
        return True
