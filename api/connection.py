"""One websocket client: its socket id, bounded send queue and the single task that writes to it.

Producers (fan-out, replies) call `Connection.send`, which never waits: when the queue is full the
connection is marked for closing with 4200 and everything queued is dropped, so a client that stops
reading costs at most ``queue_max`` frames and never delays anybody else.

The queue is a plain deque plus one future the idle writer waits on (not an `asyncio.Queue`): a
broadcast calls `send` once per subscriber, so its cost is paid K times per delta.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from api.metrics import Metrics
from api.protocol import ErrorCode

SendText = Callable[[str], Awaitable[None]]


def new_socket_id() -> str:
    """Pusher's ``<int>.<int>`` socket id, unguessable."""
    return f"{secrets.randbelow(10**9) + 1}.{secrets.randbelow(10**9) + 1}"


@dataclass(slots=True)
class Membership:
    """A presence subscription: the member this connection is in a presence channel."""

    user_id: Any
    user_info: Any


@dataclass(eq=False)
class Connection:
    socket_id: str
    send_text: SendText
    queue_max: int
    metrics: Metrics
    subscriptions: dict[str, Membership | None] = field(default_factory=dict)
    close_code: int | None = None
    close_reason: str = ""
    flush_before_close: bool = True
    last_activity: float = field(default_factory=time.monotonic)
    user_agent: str = ""
    client_address: str = ""
    #: The user this connection acts for (api.terminate; set by pusher:signin, api/users.py),
    #: and the tokens it was authorized with (sha256).
    user_id: str | None = None
    token_hashes: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Frames not yet handed to the socket; None is the writer's end marker (close with flush).
        self._queue: deque[str | None] = deque()
        self._limit = self.queue_max if self.queue_max > 0 else sys.maxsize  # as asyncio.Queue: <= 0 unbounded
        self._wakeup: asyncio.Future[None] | None = None  # set while the writer waits for a frame
        self.closing = asyncio.Event()

    @property
    def open(self) -> bool:
        return self.close_code is None

    def send(self, frame: str) -> bool:
        """Queue ``frame``; False when the connection is closing or just overflowed (closed with 4200)."""
        if self.close_code is not None:
            return False
        if len(self._queue) >= self._limit:
            self.metrics.inc("edge_drops_total", reason="send_queue_full")
            self.metrics.inc("edge_slow_consumers_closed_total")
            self.close(ErrorCode.RECONNECT, "Send queue full: reconnect and resume", flush=False)
            return False
        self._queue.append(frame)
        self._wake()
        return True

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def close(self, code: int, reason: str, *, flush: bool = True) -> None:
        """Ask for the connection to close; with ``flush`` the frames queued so far are written first."""
        if self.close_code is not None:
            return
        self.close_code = int(code)
        self.close_reason = reason[:120]
        self.flush_before_close = flush
        if flush:
            # The writer ends when it reaches this marker; make room for it if need be.
            while len(self._queue) >= self._limit:
                self._drop_one()
            self._queue.append(None)
            self._wake()
        else:
            self._drain()
        self.closing.set()

    def _drop_one(self) -> None:
        if self._queue:
            self._queue.popleft()
            self.metrics.inc("edge_drops_total", reason="closing")

    def _drain(self) -> None:
        while self._queue:
            self._drop_one()

    async def run_writer(self) -> None:
        """Write queued frames one at a time until closed; the only task that sends on the socket."""
        queue = self._queue
        try:
            while True:
                while not queue:
                    self._wakeup = asyncio.get_running_loop().create_future()
                    try:
                        await self._wakeup
                    finally:
                        self._wakeup = None
                frame = queue.popleft()
                if frame is None:
                    break
                await self.send_text(frame)
                self.metrics.inc("edge_messages_out_total")
        finally:
            self.closing.set()

    def queued(self) -> int:
        return len(self._queue)
