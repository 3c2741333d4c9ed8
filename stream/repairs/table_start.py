"""Faust's table manager, made to start without its fixed one-second pause.

`TableManager.on_start` sleeps one second before it registers the tables' changelog channels and
starts recovery, so that tables defined late still join. Every table of the worker is defined at
import time (Faust refuses a table added after the start), so the pause only delays every start,
and every restart after a crash. `install()` runs the same two steps without it.
"""

from __future__ import annotations

from typing import Any

from faust.tables.manager import TableManager

_original_on_start = TableManager.on_start


async def _on_start(self: Any) -> None:
    if not self.should_stop:
        await self._update_channels()
        await self.recovery.start()


def install() -> None:
    TableManager.on_start = _on_start
