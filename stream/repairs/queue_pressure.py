"""Faust's agent queues, made to let their partitions be fetched again when they are cleared.

Each agent reads from a queue (mode's `ThrowableQueue` of `stream_buffer_maxsize` events).
When a fetch pushes a partition's events past 80 % of it, Faust stops fetching that partition
(`Consumer.on_buffer_full`) and leaves a callback in the queue that fetches it again once the
agent has taken the queue down to 40 % (`on_buffer_drop`). The queue runs those callbacks only
inside `get`: when the queue is empty as `get` is called, or at each event taken.

Faust clears the agents' queues when a rebalance ends (`flow_control.resume()`, and the stream
partitions were resumed just before, so a big backlog can arrive in between). A cleared queue
keeps its callbacks, and an agent already waiting in `get` on the queue is not called again:
it waits for an event that never comes, because the partition is no longer fetched. An agent
that reads a single partition (one of two workers on three partitions) then stops for good,
with nothing acknowledged and nothing logged: the partition's lag just stays.

`install()` makes `clear()` run the callbacks: an empty queue is under no pressure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mode.utils.queues import FlowControlQueue, ThrowableQueue

log = logging.getLogger(__name__)

#: Partitions fetched again because their queue was cleared (`/pulse/status/`).
refetches_after_clear = 0

_patched: set[Callable[[Any], None]] = set()


def _releasing(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def clear(self: Any) -> None:
        original(self)
        pending = self._pending_pressure_drop_callbacks
        if pending:
            global refetches_after_clear
            callbacks = list(pending)
            pending.clear()
            for callback in callbacks:
                refetches_after_clear += 1
                callback()
            self.on_pressure_drop()
            log.warning(
                "queue pressure: a cleared agent queue had stopped %d partition(s); fetching again", len(callbacks)
            )

    clear.__doc__ = original.__doc__
    return clear


def install() -> None:
    """Patch mode's queues (both classes define `clear`)."""
    for cls in (FlowControlQueue, ThrowableQueue):
        if cls.clear not in _patched:
            patched = _releasing(cls.clear)
            _patched.add(patched)
            cls.clear = patched
