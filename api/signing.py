"""HMAC-SHA256 signatures: channel authorization strings and Pusher HTTP API request signing."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping

_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)


def channel_signature(secret: str, socket_id: str, channel: str, channel_data: str | None = None) -> str:
    """Hex HMAC-SHA256 of ``socket_id:channel[:channel_data]`` keyed with the app secret."""
    message = f"{socket_id}:{channel}" if channel_data is None else f"{socket_id}:{channel}:{channel_data}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def channel_auth(key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None) -> str:
    """The ``auth`` value a client sends in `pusher:subscribe`: ``key:signature``."""
    return f"{key}:{channel_signature(secret, socket_id, channel, channel_data)}"


def verify_channel_auth(
    key: str, secret: str, auth: object, socket_id: str, channel: str, channel_data: str | None = None
) -> bool:
    """True when ``auth`` is ``key:signature`` for exactly this socket, channel (and channel_data)."""
    if not isinstance(auth, str) or ":" not in auth:
        return False
    given_key, _, given_sig = auth.partition(":")
    expected = channel_signature(secret, socket_id, channel, channel_data)
    key_ok = hmac.compare_digest(given_key.encode(), key.encode())
    sig_ok = hmac.compare_digest(given_sig.encode(), expected.encode())
    return key_ok and sig_ok


def string_to_sign(method: str, path: str, params: Mapping[str, str]) -> str:
    """``METHOD\\nPATH\\nk=v&k=v`` with keys lowercased and sorted, ``auth_signature`` left out."""
    items = sorted((k.lower(), v) for k, v in params.items() if k.lower() != "auth_signature")
    query = "&".join(f"{k}={v}" for k, v in items)
    return f"{method.upper()}\n{path}\n{query}"


def request_signature(secret: str, method: str, path: str, params: Mapping[str, str]) -> str:
    return hmac.new(secret.encode(), string_to_sign(method, path, params).encode(), hashlib.sha256).hexdigest()


def sign_request(
    key: str, secret: str, method: str, path: str, body: bytes = b"", now: float | None = None
) -> dict[str, str]:
    """Query parameters for a signed Pusher HTTP API request (used by tests and tools)."""
    params = {
        "auth_key": key,
        "auth_timestamp": str(int(time.time() if now is None else now)),
        "auth_version": "1.0",
    }
    if body:
        params["body_md5"] = hashlib.md5(body).hexdigest()
    params["auth_signature"] = request_signature(secret, method, path, params)
    return params


class RequestAuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def verify_request(
    *,
    key: str,
    secret: str,
    method: str,
    path: str,
    params: Mapping[str, str],
    body: bytes,
    max_skew: int = 600,
    now: float | None = None,
) -> None:
    """Check a Pusher HTTP API request signature; raise `RequestAuthError` (401) when it fails."""
    auth_key = params.get("auth_key")
    if auth_key is None or not hmac.compare_digest(auth_key.encode(), key.encode()):
        raise RequestAuthError(401, "Unknown auth_key")
    if params.get("auth_version") != "1.0":
        raise RequestAuthError(401, "auth_version must be 1.0")
    raw_timestamp = params.get("auth_timestamp", "")
    if not _TIMESTAMP.fullmatch(raw_timestamp):
        raise RequestAuthError(401, "auth_timestamp must be Unix seconds (ASCII digits)")
    timestamp = int(raw_timestamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > max_skew:
        raise RequestAuthError(401, f"auth_timestamp is more than {max_skew} s from the server's time")
    if body:
        md5 = params.get("body_md5")
        if md5 is None or not hmac.compare_digest(md5.encode(), hashlib.md5(body).hexdigest().encode()):
            raise RequestAuthError(401, "body_md5 does not match the body")
    elif "body_md5" in params and params["body_md5"] != hashlib.md5(b"").hexdigest():
        raise RequestAuthError(401, "body_md5 does not match the body")
    given = params.get("auth_signature", "")
    expected = request_signature(secret, method, path, params)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise RequestAuthError(401, "Invalid signature")
