"""The Pusher HTTP API subset servers use to broadcast through the edge and to inspect channels.

``POST /apps/{app_id}/events`` and ``/batch_events`` produce to the triggers topic (the worker
stamps ``seq`` and republishes to `chinook.deltas`, so every edge delivers). ``GET`` endpoints
report this edge's own view of its channels: with several edges behind a balancer, each answers
for its own connections only.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from api import guard, protocol, users
from api.bodies import BadInput, has_lone_surrogate, parse_json, read_body
from api.bus import BusUnavailable
from api.signing import RequestAuthError, verify_request
from api.state import Edge
from api.triggers import SinkUnavailable, Trigger, decode_event_data

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(edge: Edge, endpoint: str, status: int, message: str) -> JSONResponse:
    edge.metrics.inc("edge_http_requests_total", endpoint=endpoint, status=str(status))
    return JSONResponse({"error": message}, status_code=status)


async def _authenticated(request: Request, edge: Edge) -> bytes:
    """The body of a correctly signed request; `ApiError` otherwise (bounded work before the check)."""
    if guard.blocked(edge, request):
        raise ApiError(429, "Too many failed authentications from this address; retry later")
    if request.path_params.get("app_id", edge.settings.pusher_app_id) != edge.settings.pusher_app_id:
        raise ApiError(404, "Unknown app")
    try:
        body = await read_body(request, edge.config.http_max_body_bytes)
    except BadInput as exc:
        raise ApiError(exc.status, exc.message) from None
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            raise ApiError(400, f"Repeated query parameter {key}")
        params[key] = value
    try:
        verify_request(
            key=edge.settings.pusher_app_key,
            secret=edge.settings.pusher_app_secret,
            method=request.method,
            path=request.url.path,
            params=params,
            body=body,
            max_skew=edge.config.http_timestamp_skew,
        )
    except RequestAuthError as exc:
        guard.auth_failed(edge, request)
        raise ApiError(exc.status, exc.message) from None
    return body


def _json_object(edge: Edge, body: bytes) -> dict[str, Any]:
    try:
        parsed = parse_json(body, edge.config.max_json_depth)
    except BadInput as exc:
        raise ApiError(exc.status, exc.message) from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "Body must be a JSON object")
    return parsed


def _event(edge: Edge, item: dict[str, Any], *, batch: bool) -> list[Trigger]:
    name = item.get("name")
    if not isinstance(name, str) or not name or len(name) > protocol.EVENT_NAME_MAX:
        raise ApiError(400, "name must be a string of at most 200 characters")
    if name.startswith(("pusher:", "pusher_internal:", "chinook:")):
        raise ApiError(400, "Reserved event name")
    data = item.get("data")
    if not isinstance(data, str):
        raise ApiError(400, "data must be a string")
    if len(data.encode("utf-8", "surrogatepass")) > edge.config.http_max_event_bytes:
        raise ApiError(413, f"data exceeds {edge.config.http_max_event_bytes} bytes")
    channels: Any
    if batch:
        channels = [item.get("channel")]
    else:
        channels = item.get("channels")
        if channels is None and "channel" in item:
            channels = [item["channel"]]
    if not isinstance(channels, list) or not channels:
        raise ApiError(400, "channels must be a non-empty list")
    if len(channels) > edge.config.http_max_channels:
        raise ApiError(400, f"At most {edge.config.http_max_channels} channels per event")
    for channel in channels:
        if not (protocol.valid_channel_name(channel) or users.is_user_channel(channel)):
            raise ApiError(400, f"Invalid channel name {str(channel)[:200]!r}")
    if len(set(channels)) != len(channels):
        raise ApiError(400, "Repeated channel")
    if any(protocol.is_encrypted(c) for c in channels) and len(channels) > 1:
        raise ApiError(400, "An encrypted channel must be the only channel of an event")
    if any(protocol.is_encrypted(c) for c in channels) and edge.settings.encryption_master_key is None:
        raise ApiError(400, "Encrypted channels are not enabled on this edge (no PUSHER_ENCRYPTION_MASTER_KEY)")
    socket_id = item.get("socket_id")
    if socket_id is not None and not protocol.valid_socket_id(socket_id):
        raise ApiError(400, "Invalid socket_id")
    value = decode_event_data(data, edge.config.max_json_depth)
    if has_lone_surrogate(value):
        raise ApiError(400, "data holds a lone surrogate (not valid Unicode)")
    return [Trigger(channel=c, event=name, data=value, socket_id=socket_id) for c in channels]


async def _send(edge: Edge, triggers: list[Trigger]) -> None:
    """Channel events to the triggers topic (sequenced by the worker), user events to the edge bus."""
    to_users = [t for t in triggers if users.is_user_channel(t.channel)]
    to_channels = [t for t in triggers if not users.is_user_channel(t.channel)]
    if to_channels:
        await edge.sink.send(to_channels)
    for trigger in to_users:
        await edge.bus.publish(users.bus_message(trigger))


async def _handle(request: Request, endpoint: str, batch: bool) -> JSONResponse:
    edge: Edge = request.app.state.edge
    try:
        body = await _authenticated(request, edge)
        payload = _json_object(edge, body)
        if batch:
            items = payload.get("batch")
            if not isinstance(items, list) or not items:
                raise ApiError(400, "batch must be a non-empty list")
            if len(items) > edge.config.http_max_batch:
                raise ApiError(400, f"At most {edge.config.http_max_batch} events per batch")
            if not all(isinstance(i, dict) for i in items):
                raise ApiError(400, "Each batch item must be an object")
            triggers = [t for item in items for t in _event(edge, item, batch=True)]
            infos = [_trigger_info(item) for item in items]
        else:
            triggers = _event(edge, payload, batch=False)
            infos = [_trigger_info(payload)]
        await _send(edge, triggers)
    except ApiError as exc:
        if exc.status == 400:
            guard.note_bad_input(edge, guard.client_address(request), f"{endpoint}: {exc.message}")
        return _error(edge, endpoint, exc.status, exc.message)
    except (SinkUnavailable, BusUnavailable) as exc:
        return _error(edge, endpoint, 503, str(exc))
    edge.metrics.inc("edge_http_requests_total", endpoint=endpoint, status="200")
    if batch:
        return JSONResponse({"batch": [_counts(edge, t.channel, f) for t, f in zip(triggers, infos, strict=True)]})
    if infos[0]:
        return JSONResponse({"channels": {t.channel: _counts(edge, t.channel, infos[0]) for t in triggers}})
    return JSONResponse({})


def _trigger_info(item: dict[str, Any]) -> list[str]:
    """The ``info`` attributes a trigger asks for (``subscription_count``, ``user_count``)."""
    raw = item.get("info")
    if raw is None:
        return []
    if not isinstance(raw, str):
        raise ApiError(400, "info must be a comma-separated string")
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    unknown = set(fields) - {"user_count", "subscription_count"}
    if unknown:
        raise ApiError(400, f"Unknown info attributes: {', '.join(sorted(unknown))}")
    return fields


def _counts(edge: Edge, name: str, fields: list[str]) -> dict[str, int]:
    """What ``info`` asked for of one channel (``user_count`` of presence channels only)."""
    subscriptions, users_ = edge.channel_counts(name)
    info: dict[str, int] = {}
    if "subscription_count" in fields:
        info["subscription_count"] = subscriptions
    if "user_count" in fields and protocol.is_presence(name):
        info["user_count"] = users_
    return info


async def trigger_event(request: Request) -> JSONResponse:
    return await _handle(request, "events", batch=False)


async def trigger_batch(request: Request) -> JSONResponse:
    return await _handle(request, "batch_events", batch=True)


def _info_fields(request: Request) -> list[str]:
    raw = request.query_params.get("info", "")
    fields = [f for f in raw.split(",") if f]
    unknown = set(fields) - {"user_count", "subscription_count"}
    if unknown:
        raise ApiError(400, f"Unknown info attributes: {', '.join(sorted(unknown))}")
    return fields


async def list_channels(request: Request) -> JSONResponse:
    edge: Edge = request.app.state.edge
    try:
        await _authenticated(request, edge)
        prefix = request.query_params.get("filter_by_prefix", "")
        fields = _info_fields(request)
        if "user_count" in fields and not prefix.startswith("presence-"):
            raise ApiError(400, "info=user_count needs filter_by_prefix=presence-")
    except ApiError as exc:
        return _error(edge, "channels", exc.status, exc.message)
    channels: dict[str, dict[str, int]] = {}
    for channel in edge.registry:
        if not channel.name.startswith(prefix) or not channel.subscribers or users.is_user_channel(channel.name):
            continue
        info: dict[str, int] = {}
        if "user_count" in fields:
            info["user_count"] = len(channel.members)
        if "subscription_count" in fields:
            info["subscription_count"] = len(channel.subscribers)
        channels[channel.name] = info
    edge.metrics.inc("edge_http_requests_total", endpoint="channels", status="200")
    return JSONResponse({"channels": channels})


async def channel_info(request: Request) -> JSONResponse:
    edge: Edge = request.app.state.edge
    name = request.path_params["channel"]
    try:
        await _authenticated(request, edge)
        if not protocol.valid_channel_name(name):
            raise ApiError(400, "Invalid channel name")
        fields = _info_fields(request)
        if "user_count" in fields and not protocol.is_presence(name):
            raise ApiError(400, "user_count is only available for presence channels")
    except ApiError as exc:
        return _error(edge, "channel", exc.status, exc.message)
    channel = edge.registry.get(name)
    subscribers = len(channel.subscribers) if channel is not None else 0
    result: dict[str, Any] = {"occupied": subscribers > 0}
    if "user_count" in fields:
        result["user_count"] = len(channel.members) if channel is not None else 0
    if "subscription_count" in fields:
        result["subscription_count"] = subscribers
    edge.metrics.inc("edge_http_requests_total", endpoint="channel", status="200")
    return JSONResponse(result)


async def channel_users(request: Request) -> JSONResponse:
    edge: Edge = request.app.state.edge
    name = request.path_params["channel"]
    try:
        await _authenticated(request, edge)
        if not protocol.is_presence(name):
            raise ApiError(400, "Users are only listed for presence channels")
    except ApiError as exc:
        return _error(edge, "users", exc.status, exc.message)
    channel = edge.registry.get(name)
    ids = [str(m.user_id) for m in channel.members.values()] if channel is not None else []
    edge.metrics.inc("edge_http_requests_total", endpoint="users", status="200")
    return JSONResponse({"users": [{"id": i} for i in ids]})


async def terminate_connections(request: Request) -> JSONResponse:
    """``POST /apps/{app_id}/users/{user_id}/terminate_connections``: cut the user off on every edge.

    Also served as ``POST /users/{user_id}/terminate_connections``, the path the official Python SDK
    (`pusher` 3.3, `terminate_user_connections`) signs and sends; the signature names the app's key."""
    edge: Edge = request.app.state.edge
    user_id = request.path_params["user_id"]
    try:
        await _authenticated(request, edge)
        if not protocol.valid_user_id(user_id):
            raise ApiError(400, "Invalid user id")
        assert edge.control is not None
        await edge.control.terminate(user_id)
    except ApiError as exc:
        return _error(edge, "terminate_connections", exc.status, exc.message)
    except Exception as exc:
        log.warning("terminate_connections for %s failed: %s", user_id, type(exc).__name__)
        return _error(edge, "terminate_connections", 503, "the order could not be sent to the edges")
    edge.metrics.inc("edge_http_requests_total", endpoint="terminate_connections", status="200")
    return JSONResponse({})
