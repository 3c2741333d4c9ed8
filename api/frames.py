"""Outgoing frames: the Pusher frame's text and its websocket frame bytes, encoded once for everyone.

A server-to-client websocket frame is unmasked (RFC 6455 5.1): a 2-10 byte header then the UTF-8
payload, so the same bytes can be written to every subscriber's socket. Only uncompressed, single
frame text messages are made here (no permessage-deflate: connections that negotiated it are
written through the ASGI server instead, see `api.wire`).
"""

from __future__ import annotations

import struct

_TEXT_FIN = 0x81  # FIN + opcode 1 (text)


def text_frame(payload: bytes) -> bytes:
    """The whole websocket frame (header + payload) of one unfragmented, unmasked text message."""
    n = len(payload)
    if n < 126:
        return bytes((_TEXT_FIN, n)) + payload
    if n < 65_536:
        return struct.pack("!BBH", _TEXT_FIN, 126, n) + payload
    return struct.pack("!BBQ", _TEXT_FIN, 127, n) + payload


class Frame:
    """A Pusher frame to send: ``text`` for the ASGI path, ``wire`` (made on first use) for raw sockets."""

    __slots__ = ("_wire", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        wire = self._wire
        if wire is None:
            wire = self._wire = text_frame(self.text.encode())
        return wire

    def __repr__(self) -> str:
        return f"Frame({self.text[:60]!r})"
