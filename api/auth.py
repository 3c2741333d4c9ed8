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

from api import encryption, guard, policy, protocol, signing
from api.bodies import BadInput, parse_json, read_body
from api.state import Edge
from api.terminate import Grant
from api.tokens import hash_token

log = logging.getLogger(__name__)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def _fields(request: Request, edge: Edge) -> dict[str, Any]:
    """The body's fields, read with a cap (`BadInput` 413) and parsed with one (`BadInput` 400)."""
    body = await read_body(request, edge.config.auth_max_body_bytes)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        parsed = parse_json(body or b"{}", edge.config.max_json_depth)
        if not isinstance(parsed, dict):
            raise BadInput(400, "JSON body must be an object")
        return parsed
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise BadInput(400, "Body must be UTF-8") from None
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True, max_num_fields=20).items()}


def _deny(edge: Edge, status: int, message: str) -> JSONResponse:
    edge.metrics.inc("edge_auth_requests_total", status=str(status))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def bearer_or_denial(edge: Edge, request: Request) -> str | JSONResponse:
    """The request's bearer token, or the response that refuses it: 429 while the client is over its
    failed-authentication budget, 401 (counted as a failure) without a token."""
    if guard.blocked(edge, request):
        edge.metrics.inc("edge_auth_requests_total", status="429")
        return guard.too_many_failures()
    token = _bearer(request)
    if token is None:
        guard.auth_failed(edge, request)
        return _deny(edge, 401, "A bearer token is required")
    return token


async def bearer_user(edge: Edge, request: Request, token: str) -> Any:
    """The user `token` belongs to, or the response that refuses the request: 503 when the lookup
    fails, 401 (counted as a failed authentication of the client) when the token is unknown or revoked."""
    try:
        user = await edge.tokens.user_for_token(token)
    except Exception as exc:
        log.warning("token lookup failed: %s", type(exc).__name__)
        return _deny(edge, 503, "Authorization is unavailable")
    if user is None:
        guard.auth_failed(edge, request)
        return _deny(edge, 401, "Unknown or revoked token")
    return user


async def broadcasting_auth(request: Request) -> JSONResponse:
    edge: Edge = request.app.state.edge
    token = bearer_or_denial(edge, request)
    if isinstance(token, JSONResponse):
        return token
    try:
        fields = await _fields(request, edge)
    except BadInput as exc:
        guard.note_bad_input(edge, guard.client_address(request), f"/broadcasting/auth: {exc.message}")
        return _deny(edge, exc.status, exc.message)
    except ValueError:  # parse_qs: too many fields
        return _deny(edge, 400, "Body must be form-encoded or JSON with socket_id and channel_name")
    socket_id, channel = fields.get("socket_id"), fields.get("channel_name")
    if not protocol.valid_socket_id(socket_id) or not protocol.valid_channel_name(channel):
        return _deny(edge, 400, "socket_id and channel_name are required and must be valid")
    assert isinstance(socket_id, str) and isinstance(channel, str)
    user = await bearer_user(edge, request, token)
    if isinstance(user, JSONResponse):
        return user
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
    if socket_id in edge.connections:  # so revoking the token cuts this socket off (api.terminate)
        edge.grants.record(socket_id, channel, Grant(str(user.id), hash_token(token)))
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
