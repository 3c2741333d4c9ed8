"""One websocket client: its socket id and bounded send queue, and how its frames reach the socket.

Producers (fan-out, replies) call `Connection.send`, which never waits: when the queue is full the
connection is marked for closing with 4200 and everything queued is dropped, so a client that stops
reading costs at most ``queue_max`` frames and never delays anybody else.

Two ways to the socket, both keeping the per-connection order:
- raw (`api.wire.RawSocket`, the edge under uvicorn): `send` appends the frame's websocket bytes,
  encoded once for every subscriber (`api.frames.Frame`), and the edge's `Outbox` writes each
  connection's whole queue with one `transport.write` per event-loop turn; no task per connection.
  While the transport's buffer is over its high-water mark nothing is written and the queue fills.
- ASGI (tests' TestClient, permessage-deflate): one writer task calls ``send_text`` per frame.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from api.frames import Frame
from api.metrics import Metrics
from api.protocol import ErrorCode
from api.wire import RawSocket

SendText = Callable[[str], Awaitable[None]]
log = logging.getLogger(__name__)


def new_socket_id() -> str:
    """Pusher's ``<int>.<int>`` socket id, unguessable."""
    return f"{secrets.randbelow(10**9) + 1}.{secrets.randbelow(10**9) + 1}"


@dataclass(slots=True)
class Membership:
    """A presence subscription: the member this connection is in a presence channel."""

    user_id: Any
    user_info: Any


class Outbox:
    """The raw connections with frames to write, all written in one callback per event-loop turn.

    Whatever the loop queues before that callback runs (a batch of deltas, a late pump) leaves in
    one write per connection. Frames written are counted once per turn.
    """

    __slots__ = ("_pending", "_scheduled", "metrics")

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._pending: list[Connection] = []
        self._scheduled = False

    def schedule(self, conn: Connection) -> None:
        self._pending.append(conn)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        written = 0
        for conn in pending:
            try:
                written += conn.flush()
            except Exception as exc:  # one broken socket must not stop the others' writes
                conn.lost(exc)
        if written:
            self.metrics.inc("edge_messages_out_total", written)


@dataclass(eq=False, slots=True)
class Connection:
    socket_id: str
    send_text: SendText | None
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
    #: and the tokens it was authorized with (sha256; one shared empty set until the first).
    user_id: str | None = None
    token_hashes: frozenset[str] = frozenset()
    #: Raw mode: the socket written directly and the outbox that flushes it.
    socket: RawSocket | None = None
    outbox: Outbox | None = None
    #: Called once when the connection is asked to close (the endpoint stops reading then).
    on_close: Callable[[], None] | None = None
    #: The keepalive timer (api.websocket) and when the last ping was sent (None: none pending).
    keepalive: asyncio.TimerHandle | None = None
    ping_sent_at: float | None = None
    # Frames not yet handed to the socket: websocket bytes (raw) or text; None ends the ASGI writer.
    _queue: list[Any] = field(default_factory=list, init=False, repr=False)
    _limit: int = field(default=0, init=False, repr=False)
    _scheduled: bool = field(default=False, init=False, repr=False)
    _waiter: asyncio.Future[None] | None = field(default=None, init=False, repr=False)  # ASGI writer idle
    _writable: asyncio.Task[None] | None = field(default=None, init=False, repr=False)  # raw: transport full
    _closing: asyncio.Event | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._limit = self.queue_max if self.queue_max > 0 else sys.maxsize  # as asyncio.Queue: <= 0 unbounded
        if self.socket is not None and self.outbox is None:
            raise ValueError("a raw connection needs an outbox")

    @property
    def open(self) -> bool:
        return self.close_code is None

    @property
    def closing(self) -> asyncio.Event:
        """Set once the connection is asked to close (made on first use)."""
        if self._closing is None:
            self._closing = asyncio.Event()
            if self.close_code is not None:
                self._closing.set()
        return self._closing

    def send(self, frame: str | Frame) -> bool:
        """Queue ``frame``; False when the connection is closing or just overflowed (closed with 4200)."""
        if self.close_code is not None:
            return False
        queue = self._queue
        if len(queue) >= self._limit:
            self.metrics.inc("edge_drops_total", reason="send_queue_full")
            self.metrics.inc("edge_slow_consumers_closed_total")
            self.close(ErrorCode.RECONNECT, "Send queue full: reconnect and resume", flush=False)
            return False
        if self.socket is not None:
            queue.append(frame.wire if isinstance(frame, Frame) else Frame(frame).wire)
            if not self._scheduled:
                self._scheduled = True
                assert self.outbox is not None
                self.outbox.schedule(self)
        else:
            queue.append(frame.text if isinstance(frame, Frame) else frame)
            self._wake()
        return True

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self, code: int, reason: str, *, flush: bool = True) -> None:
        """Ask for the connection to close; with ``flush`` the frames queued so far are written first."""
        if self.close_code is not None:
            return
        self.close_code = int(code)
        self.close_reason = reason[:120]
        self.flush_before_close = flush
        if not flush:
            self._drain()
        elif self.socket is None:
            # The writer ends when it reaches this marker; make room for it if need be.
            while len(self._queue) >= self._limit:
                self._drop(1)
            self._queue.append(None)
            self._wake()
        if self._closing is not None:
            self._closing.set()
        if self.on_close is not None:
            self.on_close()

    def _drop(self, n: int) -> None:
        n = min(n, len(self._queue))
        if n:
            del self._queue[:n]
            self.metrics.inc("edge_drops_total", n, reason="closing")

    def _drain(self) -> None:
        self._drop(len(self._queue))

    # -- raw mode ---------------------------------------------------------------------------

    def flush(self) -> int:
        """Raw mode: write everything queued in one `transport.write`; the number of frames written."""
        self._scheduled = False
        queue = self._queue
        if not queue:
            return 0
        socket = self.socket
        assert socket is not None
        if socket.transport.is_closing():  # the client is gone: nothing more can reach it
            queue.clear()
            return 0
        if not socket.writable.is_set():  # over the high-water mark: wait until it drains
            if self._writable is None:
                self._writable = asyncio.ensure_future(self._when_writable(socket.writable))
            return 0
        n = len(queue)
        socket.transport.write(queue[0] if n == 1 else b"".join(queue))
        queue.clear()
        return n

    def lost(self, exc: BaseException) -> None:
        """Raw mode: writing failed; drop what is queued and close (the endpoint then drops the socket)."""
        self._scheduled = False
        log.warning("write to %s failed (%s: %s); closing it", self.socket_id, type(exc).__name__, exc)
        self.close(ErrorCode.RECONNECT, "Write failed: reconnect and resume", flush=False)
        self._queue.clear()

    async def _when_writable(self, writable: asyncio.Event) -> None:
        try:
            await writable.wait()
        finally:
            self._writable = None
        if self._queue and not self._scheduled:
            self._scheduled = True
            assert self.outbox is not None
            self.outbox.schedule(self)

    async def drained(self) -> None:
        """Raw mode: wait until every queued frame is handed to the transport (or dropped)."""
        while self._queue:
            if self._writable is not None:
                await asyncio.shield(self._writable)
            else:
                await asyncio.sleep(0)  # the outbox writes it this turn

    def stop_waiting(self) -> None:
        """Raw mode: stop waiting for the transport (the endpoint is done with this connection)."""
        if self._writable is not None:
            self._writable.cancel()
        if self.keepalive is not None:
            self.keepalive.cancel()
            self.keepalive = None

    # -- ASGI mode --------------------------------------------------------------------------

    async def run_writer(self) -> None:
        """ASGI mode: write queued frames one at a time until closed; the only task that sends."""
        assert self.send_text is not None, "a raw connection has no writer task"
        queue = self._queue
        send_text = self.send_text
        try:
            while True:
                while not queue:
                    self._waiter = asyncio.get_running_loop().create_future()
                    try:
                        await self._waiter
                    finally:
                        self._waiter = None
                frame = queue.pop(0)
                if frame is None:
                    break
                await send_text(frame)
                self.metrics.inc("edge_messages_out_total")
        finally:
            self.closing.set()

    def queued(self) -> int:
        return len(self._queue)
