"""The socket under an established websocket, for writing the edge's frames to it directly.

uvicorn's websockets-sansio protocol (the edge's `ws`, api/server.py) writes every frame it makes
with one `transport.write` of whole frames and keeps no state about the data frames it sent. So
once the handshake is done the edge may write its own complete, uncompressed text frames
(`api.frames`) straight to the transport, many in one write: uvicorn's pings, pongs and close
frames are whole frames too, so the two only ever interleave between frames. The close frame still
goes through uvicorn (`websocket.close`), after the edge's last frame. The protocol's receive
queue (an `asyncio.Queue`: three deques and an event, ~3 KiB) is swapped for an `Inbox` with
the same three methods uvicorn calls, for memory per connection. A connection that
negotiated permessage-deflate, or another ASGI server, gets no `RawSocket` and is written through
ASGI `send` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

PROTOCOL_KEY = "chinook.ws_protocol"


class Inbox:
    """The few `asyncio.Queue` methods uvicorn's protocol uses (``put_nowait``, ``get``, ``empty``), small."""

    __slots__ = ("_getter", "_items")

    def __init__(self, items: list[Any]) -> None:
        self._items = items
        self._getter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        return self._items.pop(0)


@dataclass(slots=True, eq=False)
class RawSocket:
    """The transport and uvicorn's `writable` event (cleared while the transport's buffer is full)."""

    transport: asyncio.Transport
    writable: asyncio.Event


def raw_socket(scope: MutableMapping[str, Any]) -> RawSocket | None:
    """The accepted websocket's `RawSocket`, or None when it must be written through ASGI ``send``."""
    protocol = scope.get(PROTOCOL_KEY)
    if protocol is None:
        return None
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:  # pragma: no cover - uvicorn without websockets
        return None
    if type(protocol) is not WebSocketsSansIOProtocol:
        return None
    if protocol.conn.extensions or not protocol.handshake_complete or protocol.close_sent:
        return None
    transport = protocol.transport
    writable = protocol.writable
    if transport is None or transport.is_closing() or not isinstance(writable, asyncio.Event):
        return None
    # The handshake's request and response (their headers) are only read before `accept`; the
    # protocol would hold them for the connection's life.
    for name in ("request", "response"):
        if hasattr(protocol, name):
            setattr(protocol, name, None)
    queue = protocol.queue
    if type(queue) is asyncio.Queue:  # nobody waits on it yet: the endpoint has not read
        items = []
        while not queue.empty():
            items.append(queue.get_nowait())
        protocol.queue = Inbox(items)  # type: ignore[assignment]
    return RawSocket(transport, writable)
