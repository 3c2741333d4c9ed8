"""Pusher Channels protocol (version 7): frames the edge sends and parses, and its error codes.

Server frames carry ``data`` as a JSON *string* (as Pusher does; pusher-js parses either form),
except ``pusher:error`` whose ``data`` is an object ``{"code": int | null, "message": str}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from api.bodies import BadInput, parse_json

SUPPORTED_PROTOCOLS = frozenset({5, 6, 7})
CHANNEL_NAME_MAX = 164
EVENT_NAME_MAX = 200
# Whole-string matches (fullmatch), ASCII only: no trailing newline, no other scripts' digits.
_CHANNEL_RE = re.compile(r"[A-Za-z0-9_\-=@,.;]+", re.ASCII)
_SOCKET_ID_RE = re.compile(r"[0-9]{1,20}\.[0-9]{1,20}", re.ASCII)
_USER_ID_RE = re.compile(r"[A-Za-z0-9_\-=@,.;]{1,200}", re.ASCII)


class ErrorCode(IntEnum):
    """Codes of `pusher:error` frames and of websocket close frames (Pusher protocol)."""

    # 4000-4099: the client must not reconnect as is.
    SSL_ONLY = 4000
    APP_NOT_FOUND = 4001
    APP_DISABLED = 4003
    OVER_CONNECTION_QUOTA = 4004
    PATH_NOT_FOUND = 4005
    INVALID_VERSION = 4006
    UNSUPPORTED_PROTOCOL = 4007
    NO_PROTOCOL = 4008
    UNAUTHORIZED = 4009
    # 4100-4199: reconnect after backing off.
    OVER_CAPACITY = 4100
    # 4200-4299: reconnect now.
    RECONNECT = 4200
    PONG_TIMEOUT = 4201
    CLOSED_AFTER_INACTIVITY = 4202
    # 4300-4399: other errors.
    GENERIC = 4300
    RATE_LIMITED = 4301


class ProtocolError(Exception):
    """A client frame the edge refuses; answered with a `pusher:error` frame."""

    def __init__(self, message: str, code: int | None = None, *, channel: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.channel = channel


@dataclass(frozen=True, slots=True)
class ClientFrame:
    event: str
    data: Any
    channel: str | None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode(event: str, data: Any, channel: str | None = None) -> str:
    """One server frame; ``data`` is sent as a JSON string unless it already is a string."""
    frame: dict[str, Any] = {"event": event}
    if channel is not None:
        frame["channel"] = channel
    frame["data"] = data if isinstance(data, str) else _dumps(data)
    return _dumps(frame)


def connection_established(socket_id: str, activity_timeout: int) -> str:
    return encode("pusher:connection_established", {"socket_id": socket_id, "activity_timeout": activity_timeout})


def error(code: int | None, message: str) -> str:
    return _dumps({"event": "pusher:error", "data": {"code": code, "message": message}})


def subscription_error(channel: str, error_type: str, message: str, status: int) -> str:
    """Channel-scoped refusal: pusher-js emits it on the channel (Echo's `.error(...)`)."""
    return _dumps(
        {
            "event": "pusher:subscription_error",
            "channel": channel,
            "data": {"type": error_type, "error": message, "status": status},
        }
    )


def pong() -> str:
    return _dumps({"event": "pusher:pong", "data": {}})


def ping() -> str:
    return _dumps({"event": "pusher:ping", "data": {}})


def parse_client_frame(text: str, max_depth: int = 32) -> ClientFrame:
    """Parse a frame from a client; raise `ProtocolError` for anything malformed (too deep included)."""
    try:
        raw = parse_json(text, max_depth)
    except BadInput as exc:
        raise ProtocolError(exc.message, None) from None
    if not isinstance(raw, dict):
        raise ProtocolError("A frame must be a JSON object")
    event = raw.get("event")
    if not isinstance(event, str) or not event or len(event) > EVENT_NAME_MAX:
        raise ProtocolError("A frame needs an event name (a string of at most 200 characters)")
    channel = raw.get("channel")
    if channel is not None and not isinstance(channel, str):
        raise ProtocolError("channel must be a string")
    data = raw.get("data")
    if isinstance(data, str) and event.startswith("pusher:"):
        # Some clients send the data of pusher:* frames as a JSON string.
        try:
            data = parse_json(data, max_depth)
        except BadInput:
            pass
    return ClientFrame(event=event, data=data, channel=channel)


def valid_channel_name(name: object) -> bool:
    return isinstance(name, str) and 0 < len(name) <= CHANNEL_NAME_MAX and bool(_CHANNEL_RE.fullmatch(name))


def valid_socket_id(socket_id: object) -> bool:
    return isinstance(socket_id, str) and len(socket_id) <= 64 and bool(_SOCKET_ID_RE.fullmatch(socket_id))


def valid_user_id(user_id: object) -> bool:
    """A Pusher user id: 1 to 200 ASCII characters of a channel name."""
    return isinstance(user_id, str) and bool(_USER_ID_RE.fullmatch(user_id))


def is_private(channel: str) -> bool:
    """Channels that need a signature: ``private-`` (incl. encrypted) and ``presence-``."""
    return channel.startswith(("private-", "presence-"))


def is_presence(channel: str) -> bool:
    return channel.startswith("presence-")


def is_encrypted(channel: str) -> bool:
    return channel.startswith("private-encrypted-")


def is_cache(channel: str) -> bool:
    return channel.startswith(("cache-", "private-cache-", "presence-cache-", "private-encrypted-cache-"))
