"""``POST /broadcasting/auth``: sign private and presence subscriptions for a signed-in user.

Called by pusher-js / Laravel Echo with ``socket_id`` and ``channel_name`` (form-encoded or JSON)
and ``Authorization: Bearer <token>``. Answers ``{"auth": "key:signature"}`` (and ``channel_data``
for presence channels, ``shared_secret`` for ``private-encrypted-`` ones), 401 without a valid
token, 403 when the policy says no.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse

from api import encryption, policy, protocol, signing
from api.state import Edge

log = logging.getLogger(__name__)

MAX_BODY = 8_192


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def _fields(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ValueError("body too large")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        parsed = json.loads(body or b"{}")
        if not isinstance(parsed, dict):
            raise ValueError("JSON body must be an object")
        return parsed
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def _deny(edge: Edge, status: int, message: str) -> JSONResponse:
    edge.metrics.inc("edge_auth_requests_total", status=str(status))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def broadcasting_auth(request: Request) -> JSONResponse:
    edge: Edge = request.app.state.edge
    token = _bearer(request)
    if token is None:
        return _deny(edge, 401, "A bearer token is required")
    try:
        fields = await _fields(request)
    except (ValueError, UnicodeDecodeError):
        return _deny(edge, 400, "Body must be form-encoded or JSON with socket_id and channel_name")
    socket_id, channel = fields.get("socket_id"), fields.get("channel_name")
    if not protocol.valid_socket_id(socket_id) or not protocol.valid_channel_name(channel):
        return _deny(edge, 400, "socket_id and channel_name are required and must be valid")
    assert isinstance(socket_id, str) and isinstance(channel, str)
    try:
        user = await edge.tokens.user_for_token(token)
    except Exception as exc:
        log.warning("token lookup failed: %s", type(exc).__name__)
        return _deny(edge, 503, "Authorization is unavailable")
    if user is None:
        return _deny(edge, 401, "Unknown or revoked token")
    if not protocol.is_private(channel):
        return _deny(edge, 403, "Only private and presence channels are authorized here")
    master_key = edge.settings.encryption_master_key
    if protocol.is_encrypted(channel) and master_key is None:
        return _deny(edge, 403, "Encrypted channels are not enabled (no PUSHER_ENCRYPTION_MASTER_KEY)")
    if not policy.may_subscribe(user, channel):
        log.info("refused user %s (%s) on %s", user.id, user.role, channel)
        return _deny(edge, 403, "Forbidden")
    key, secret = edge.settings.pusher_app_key, edge.settings.pusher_app_secret
    edge.metrics.inc("edge_auth_requests_total", status="200")
    if protocol.is_presence(channel):
        channel_data = json.dumps(policy.presence_member(user), separators=(",", ":"))
        return JSONResponse(
            {
                "auth": signing.channel_auth(key, secret, socket_id, channel, channel_data),
                "channel_data": channel_data,
            }
        )
    answer = {"auth": signing.channel_auth(key, secret, socket_id, channel)}
    if protocol.is_encrypted(channel) and master_key is not None:
        answer["shared_secret"] = encryption.shared_secret(channel, master_key)
    return JSONResponse(answer)
