"""User authentication (`pusher:signin`) and events sent to one user (``#server-to-user-{id}``).

``POST /broadcasting/user-auth`` (beside ``/broadcasting/auth``, the same bearer tokens) signs
``user_data`` — the user's id and name, nothing else — for one socket. The client sends it back in
`pusher:signin`; the edge checks the signature in constant time, answers `pusher:signin_success`
and from then on lets that connection (and only it) subscribe to ``#server-to-user-{its id}``.

HTTP API triggers to ``#server-to-user-{id}`` (the SDKs' ``send_to_user``) go over the edge bus,
so the user's connections on every edge get them; they have no seq and no history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from api import protocol
from api.auth import _deny, _fields, bearer_or_denial, bearer_user
from api.connection import Connection
from api.protocol import ErrorCode, ProtocolError
from api.state import Edge
from api.triggers import Trigger

log = logging.getLogger(__name__)

PREFIX = "#server-to-user-"
USER_EVENT = "user_event"
_USER_ID_RE = re.compile(r"^[-a-zA-Z0-9_=@,.;]{1,128}$")


def is_user_channel(channel: object) -> bool:
    """True for ``#server-to-user-{id}`` with an id Pusher allows."""
    return isinstance(channel, str) and channel.startswith(PREFIX) and bool(_USER_ID_RE.match(channel[len(PREFIX) :]))


def user_signature(secret: str, socket_id: str, user_data: str) -> str:
    """Hex HMAC-SHA256 of ``socket_id::user::user_data`` keyed with the app secret (Pusher's rule)."""
    return hmac.new(secret.encode(), f"{socket_id}::user::{user_data}".encode(), hashlib.sha256).hexdigest()


def user_auth(key: str, secret: str, socket_id: str, user_data: str) -> str:
    return f"{key}:{user_signature(secret, socket_id, user_data)}"


def verify_user_auth(key: str, secret: str, auth: object, socket_id: str, user_data: str) -> bool:
    if not isinstance(auth, str) or ":" not in auth:
        return False
    given_key, _, given_sig = auth.partition(":")
    key_ok = hmac.compare_digest(given_key.encode(), key.encode())
    sig_ok = hmac.compare_digest(given_sig.encode(), user_signature(secret, socket_id, user_data).encode())
    return key_ok and sig_ok


def signin(edge: Edge, conn: Connection, data: Any) -> None:
    """Handle `pusher:signin` ``{auth, user_data}``; raise `ProtocolError` when it is not valid."""
    if not isinstance(data, dict) or not isinstance(data.get("user_data"), str):
        raise ProtocolError("pusher:signin needs data {auth, user_data}", ErrorCode.UNAUTHORIZED)
    user_data: str = data["user_data"]
    if len(user_data) > edge.config.max_message_bytes:
        raise ProtocolError("user_data too large", ErrorCode.UNAUTHORIZED)
    ok = verify_user_auth(
        edge.settings.pusher_app_key, edge.settings.pusher_app_secret, data.get("auth"), conn.socket_id, user_data
    )
    if not ok:
        raise ProtocolError("Invalid signature for pusher:signin: not signed in", ErrorCode.UNAUTHORIZED)
    try:
        parsed = json.loads(user_data)
    except ValueError:
        raise ProtocolError("user_data must be JSON", ErrorCode.UNAUTHORIZED) from None
    user_id = parsed.get("id") if isinstance(parsed, dict) else None
    if not isinstance(user_id, str) or not _USER_ID_RE.match(user_id):
        raise ProtocolError("user_data needs an id (a non-empty string)", ErrorCode.UNAUTHORIZED)
    if conn.user_id is not None and conn.user_id != user_id:
        edge.registry.unsubscribe(conn, PREFIX + conn.user_id)
    conn.user_id = user_id
    edge.metrics.inc("edge_signins_total")
    conn.send(protocol.encode("pusher:signin_success", {"user_data": user_data}))


def subscribe(edge: Edge, conn: Connection, channel: str) -> None:
    """Subscribe to ``#server-to-user-{id}``: only a connection signed in as that user may."""
    if conn.user_id is None or channel != PREFIX + conn.user_id:
        raise ProtocolError(
            f"{channel} is only for the connection signed in as that user", ErrorCode.UNAUTHORIZED, channel=channel
        )
    if channel not in conn.subscriptions:
        edge.registry.subscribe(conn, channel)
    conn.send(protocol.encode("pusher_internal:subscription_succeeded", {}, channel))


def bus_message(trigger: Trigger) -> dict[str, Any]:
    """The edge-bus message carrying one HTTP API trigger to a user channel."""
    message: dict[str, Any] = {"type": USER_EVENT, "channel": trigger.channel, "event": trigger.event}
    message["data"] = trigger.data
    if trigger.socket_id is not None:
        message["socket_id"] = trigger.socket_id
    return message


def deliver(edge: Edge, message: dict[str, Any]) -> None:
    """Bus handler: queue a user event on this edge's connections signed in as that user."""
    channel, event = message.get("channel"), message.get("event")
    if not is_user_channel(channel) or not isinstance(event, str) or not event:
        log.warning("skipping an invalid user event from the bus")
        return
    assert isinstance(channel, str)
    exclude = message.get("socket_id")
    frame = protocol.encode(event, message.get("data"), channel)
    sent = edge.registry.publish(channel, frame, exclude=exclude if isinstance(exclude, str) else None)
    edge.metrics.inc("edge_user_events_total")
    if sent:
        edge.metrics.inc("edge_user_events_delivered_total", float(sent))


async def user_authentication(request: Request) -> JSONResponse:
    """``POST /broadcasting/user-auth``: ``{"auth", "user_data"}`` for the bearer token's user."""
    edge: Edge = request.app.state.edge
    token = bearer_or_denial(edge, request)  # the same failed-authentication budget as /broadcasting/auth
    if isinstance(token, JSONResponse):
        return token
    try:
        fields = await _fields(request, edge)
    except (ValueError, UnicodeDecodeError):
        return _deny(edge, 400, "Body must be form-encoded or JSON with socket_id")
    socket_id = fields.get("socket_id")
    if not protocol.valid_socket_id(socket_id):
        return _deny(edge, 400, "socket_id is required and must be valid")
    assert isinstance(socket_id, str)
    user = await bearer_user(edge, request, token)
    if isinstance(user, JSONResponse):
        return user
    user_data = json.dumps({"id": str(user.id), "name": user.name}, separators=(",", ":"), ensure_ascii=False)
    edge.metrics.inc("edge_auth_requests_total", status="200")
    key, secret = edge.settings.pusher_app_key, edge.settings.pusher_app_secret
    return JSONResponse({"auth": user_auth(key, secret, socket_id, user_data), "user_data": user_data})
