"""The Pusher protocol endpoint ``/app/{key}``: handshake, subscriptions, replay, client events."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from api import guard, protocol, signing, terminate, users, wire
from api.bodies import BadInput, parse_json
from api.connection import Connection, Membership, new_socket_id
from api.history import EncodedDelta
from api.protocol import ErrorCode, ProtocolError
from api.ratelimit import TokenBucket
from api.state import Edge

log = logging.getLogger(__name__)


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """True for no Origin header (not a browser) or one matching an entry of ``allowed``."""
    if origin is None:
        return True
    if "*" in allowed:
        return True
    parts = urlsplit(origin)
    host = (parts.hostname or "").lower()
    netloc = parts.netloc.lower()
    for entry in allowed:
        entry = entry.strip().lower().rstrip("/")
        if "://" in entry:
            if entry == origin.lower().rstrip("/"):
                return True
        elif ":" in entry:
            if entry == netloc:
                return True
        elif fnmatch.fnmatchcase(host, entry):
            return True
    return False


async def _refuse(websocket: WebSocket, edge: Edge, code: int, message: str, reason: str) -> None:
    """Accept, say why in a `pusher:error` frame, close with the protocol's code (as Pusher does)."""
    edge.metrics.inc("edge_connections_refused_total", reason=reason)
    await websocket.accept()
    with contextlib.suppress(Exception):
        await websocket.send_text(protocol.error(code, message))
        await websocket.close(code, message[:120])


def _protocol_version(websocket: WebSocket) -> tuple[int, str] | None:
    raw = websocket.query_params.get("protocol")
    if raw is None:
        return ErrorCode.NO_PROTOCOL, "No protocol version supplied"
    try:
        version = int(raw)
    except ValueError:
        return ErrorCode.INVALID_VERSION, "Invalid version string format"
    if version not in protocol.SUPPORTED_PROTOCOLS:
        return ErrorCode.UNSUPPORTED_PROTOCOL, f"Unsupported protocol version {version}"
    return None


ABORT_KEY = "chinook.abort_transport"


def keep_transport(scope: Scope, send: Send) -> None:
    """Put the ASGI server's protocol (`api.wire`) and its transport's abort (`abort_transport`) in ``scope``."""
    protocol = getattr(send, "__self__", None)
    abort = getattr(getattr(protocol, "transport", None), "abort", None)
    if abort is not None:
        scope[ABORT_KEY] = abort
        scope[wire.PROTOCOL_KEY] = protocol


#: The Pusher websocket path (`WS /app/{key}`), matched before Starlette's routing.
PUSHER_PATH = re.compile(r"/app/([^/]+)")


def pusher_key(scope: Scope) -> str | None:
    """The app key of a websocket scope for ``/app/{key}``, else None."""
    if scope["type"] != "websocket":
        return None
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    match = PUSHER_PATH.fullmatch(path)
    return match.group(1) if match is not None else None


async def serve(app: ASGIApp, key: str, scope: Scope, receive: Receive, send: Send) -> None:
    """`endpoint` as an ASGI app of its own, without Starlette's middleware and router around it.

    Every await of a connection's life runs inside the coroutines that called the endpoint, so
    each layer skipped is memory not held per connection (api/app.py `EdgeApp`).
    """
    keep_transport(scope, send)
    scope["app"] = app
    scope["path_params"] = {"key": key}
    await endpoint(WebSocket(scope, receive, send))


class KeepTransport:
    """ASGI middleware: remembers a websocket's ASGI-server protocol and how to drop its TCP connection.

    The ASGI server's send callable is a method of its protocol object, which holds the transport
    (uvicorn's websockets, websockets-sansio and wsproto implementations all do); Starlette's own
    layers wrap `send`, so it is looked at here, before them. The protocol is kept for
    `api.wire.raw_socket`, the abort for `abort_transport`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            keep_transport(scope, send)
        await self.app(scope, receive, send)


def abort_transport(websocket: WebSocket) -> bool:
    """Drop the TCP connection under `websocket` now (no close handshake); False if it cannot be reached."""
    abort = websocket.scope.get(ABORT_KEY)
    if abort is None:
        return False
    abort()
    return True


async def endpoint(websocket: WebSocket) -> None:
    edge: Edge = websocket.app.state.edge
    config = edge.config
    if not origin_allowed(websocket.headers.get("origin"), config.allowed_origins):
        await _refuse(websocket, edge, ErrorCode.UNAUTHORIZED, "Origin not allowed", "origin")
        return
    if websocket.path_params.get("key") != edge.settings.pusher_app_key:
        await _refuse(websocket, edge, ErrorCode.APP_NOT_FOUND, "App key not in this edge", "app_key")
        return
    bad_version = _protocol_version(websocket)
    if bad_version is not None:
        await _refuse(websocket, edge, bad_version[0], bad_version[1], "protocol")
        return
    if len(edge.connections) >= config.max_connections:
        await _refuse(websocket, edge, ErrorCode.OVER_CAPACITY, "Over capacity", "capacity")
        return

    await websocket.accept()
    # The connection's task reads; a close asked for elsewhere (`Connection.close`) interrupts the
    # read by cancelling it, which is taken back below (no second task per connection).
    task = asyncio.current_task()
    assert task is not None
    interrupt = {"reading": True, "sent": False}

    def stop_reading() -> None:
        if interrupt["reading"] and not interrupt["sent"]:
            interrupt["sent"] = True
            task.cancel()

    raw = wire.raw_socket(websocket.scope)
    conn = Connection(
        socket_id=new_socket_id(),
        send_text=None if raw is not None else websocket.send_text,
        queue_max=config.send_queue_max,
        metrics=edge.metrics,
        user_agent=websocket.headers.get("user-agent", "")[:200],
        client_address=websocket.client.host if websocket.client is not None else "unknown",
        socket=raw,
        outbox=edge.outbox if raw is not None else None,
        on_close=stop_reading,
    )
    # The request's headers were read above (origin, user agent) and are not needed again.
    websocket.scope["headers"] = []
    vars(websocket).pop("_headers", None)
    edge.connections[conn.socket_id] = conn
    edge.metrics.inc("edge_connections_total")
    conn.send(protocol.connection_established(conn.socket_id, config.activity_timeout))

    writer = asyncio.create_task(conn.run_writer(), name=f"writer-{conn.socket_id}") if raw is None else None
    _schedule_keepalive(edge, conn, float(config.activity_timeout))
    client_gone = False
    delivered = False
    try:
        try:
            client_gone = await _read_loop(websocket, edge, conn)
        except asyncio.CancelledError:
            if not interrupt["sent"]:
                raise  # cancelled from outside (server shutdown): not ours to take back
            delivered = True
        except Exception as exc:  # the read failed: close as for a finished read
            log.debug("websocket read of %s failed: %s: %s", conn.socket_id, type(exc).__name__, exc)
        interrupt["reading"] = False
        if interrupt["sent"]:
            if not delivered:  # asked while no await was pending: take the cancellation now
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(0)
            task.uncancel()
    finally:
        interrupt["reading"] = False
        edge.registry.unsubscribe_all(conn)  # no more fan-out to it, presence members leave now
        if not client_gone and conn.close_code is not None and conn.flush_before_close:
            with contextlib.suppress(Exception):
                if writer is not None:
                    await asyncio.wait_for(asyncio.shield(writer), config.close_timeout)
                else:
                    await asyncio.wait_for(conn.drained(), config.close_timeout)
        code = conn.close_code if conn.close_code is not None else 1000
        conn.close(code, conn.close_reason, flush=False)  # nothing more is queued or written from here
        conn.stop_waiting()
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer
        if not client_gone:
            closed = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(code, conn.close_reason), config.close_timeout)
                closed = True
            if not closed and abort_transport(websocket):  # a client that stopped reading: drop the socket
                edge.metrics.inc("edge_connections_aborted_total")
        # Counted (EDGE_MAX_CONNECTIONS, /healthz) until its socket is closed or dropped.
        edge.connections.pop(conn.socket_id, None)


def _schedule_keepalive(edge: Edge, conn: Connection, delay: float) -> None:
    conn.keepalive = asyncio.get_running_loop().call_later(delay, _keepalive, edge, conn)


def _keepalive(edge: Edge, conn: Connection) -> None:
    """Ping an idle client; close with 4201 when it does not answer in time (a timer, not a task)."""
    conn.keepalive = None
    if not conn.open:
        return
    now = time.monotonic()
    if conn.ping_sent_at is not None:
        if conn.last_activity < conn.ping_sent_at:
            conn.close(ErrorCode.PONG_TIMEOUT, "Pong reply not received")
            return
        conn.ping_sent_at = None
    timeout = float(edge.config.activity_timeout)
    idle = now - conn.last_activity
    if idle < timeout:
        _schedule_keepalive(edge, conn, timeout - idle)
        return
    conn.ping_sent_at = now
    conn.send(protocol.ping())
    _schedule_keepalive(edge, conn, float(edge.config.pong_timeout))


async def _read_loop(websocket: WebSocket, edge: Edge, conn: Connection) -> bool:
    """Handle client frames until the client goes away (True) or the connection closes (False)."""
    config = edge.config
    messages = TokenBucket(config.message_rate, config.message_burst)
    client_events = TokenBucket(config.client_event_rate, config.client_event_burst)
    while conn.open:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return True
        await _handle(edge, conn, message, messages, client_events)
        del message  # hold nothing of the last frame while waiting for the next one
    return False


async def _handle(
    edge: Edge, conn: Connection, message: Message, messages: TokenBucket, client_events: TokenBucket
) -> None:
    """One client frame: size, rate and protocol checks, then `_dispatch`."""
    config = edge.config
    text = message.get("text")
    if text is None:
        raw = message.get("bytes") or b""
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            conn.send(protocol.error(None, "Frames must be UTF-8 JSON"))
            return
    conn.last_activity = time.monotonic()
    edge.metrics.inc("edge_messages_in_total")
    if len(text) > config.max_message_bytes or len(text.encode()) > config.max_message_bytes:
        edge.metrics.inc("edge_errors_total", code="4300")
        conn.send(protocol.error(ErrorCode.GENERIC, f"Message exceeds {config.max_message_bytes} bytes; ignored"))
        return
    if not messages.take():
        edge.metrics.inc("edge_errors_total", code="4301")
        conn.send(protocol.error(ErrorCode.RATE_LIMITED, "Too many messages; ignored"))
        return
    try:
        frame = protocol.parse_client_frame(text, config.max_json_depth)
        await _dispatch(edge, conn, frame, client_events)
    except ProtocolError as exc:
        edge.metrics.inc("edge_errors_total", code=str(exc.code))
        if exc.code in (None, ErrorCode.GENERIC):
            guard.note_bad_input(edge, conn.client_address, f"frame: {exc.message}")
        conn.send(protocol.error(exc.code, exc.message))
        if exc.channel is not None:
            status = 403 if exc.code == ErrorCode.UNAUTHORIZED else 400
            conn.send(protocol.subscription_error(exc.channel, "AuthError", exc.message, status))
    except Exception as exc:  # a frame no check above refused: still one line, never a traceback
        guard.note_bad_input(edge, conn.client_address, f"frame broke {type(exc).__name__}: {exc}")
        conn.send(protocol.error(ErrorCode.GENERIC, "The frame could not be handled"))


async def _dispatch(edge: Edge, conn: Connection, frame: protocol.ClientFrame, bucket: TokenBucket) -> None:
    event = frame.event
    if event == "pusher:ping":
        conn.send(protocol.pong())
    elif event == "pusher:pong":
        pass  # last_activity is already updated
    elif event == "pusher:signin":
        users.signin(edge, conn, frame.data)
    elif event == "pusher:subscribe":
        await _subscribe(edge, conn, frame.data)
    elif event == "pusher:unsubscribe":
        data = frame.data
        channel = data.get("channel") if isinstance(data, dict) else None
        if not (protocol.valid_channel_name(channel) or users.is_user_channel(channel)):
            raise ProtocolError("pusher:unsubscribe needs a valid channel")
        assert isinstance(channel, str)
        edge.registry.unsubscribe(conn, channel)
    elif event.startswith("client-"):
        _client_event(edge, conn, frame, bucket)
    elif event.startswith("pusher:"):
        raise ProtocolError(f"Unsupported event {event}")
    else:
        raise ProtocolError("Clients may only send pusher:* and client-* events")


def _parse_last_seq(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ProtocolError("last_seq must be a non-negative integer")


def _membership(edge: Edge, channel: str, channel_data: Any) -> Membership:
    if not isinstance(channel_data, str):
        raise ProtocolError("Presence channels need channel_data", channel=channel)
    try:
        member = parse_json(channel_data, edge.config.max_json_depth)
    except BadInput as exc:
        raise ProtocolError(f"channel_data: {exc.message}", channel=channel) from None
    user_id = member.get("user_id") if isinstance(member, dict) else None
    if not isinstance(user_id, str | int) or isinstance(user_id, bool) or user_id == "":
        raise ProtocolError("channel_data needs a user_id", channel=channel)
    return Membership(user_id=user_id, user_info=member.get("user_info"))


async def _subscribe(edge: Edge, conn: Connection, data: Any) -> None:
    if not isinstance(data, dict):
        raise ProtocolError("pusher:subscribe needs data {channel, ...}")
    channel = data.get("channel")
    if users.is_user_channel(channel):
        assert isinstance(channel, str)
        users.subscribe(edge, conn, channel)
        return
    if not protocol.valid_channel_name(channel):
        raise ProtocolError("Invalid channel name")
    assert isinstance(channel, str)
    last_seq = _parse_last_seq(data.get("last_seq"))
    if channel not in conn.subscriptions and len(conn.subscriptions) >= edge.config.max_subscriptions:
        raise ProtocolError(
            f"At most {edge.config.max_subscriptions} subscriptions per connection", ErrorCode.GENERIC, channel=channel
        )
    membership: Membership | None = None
    grant: terminate.Grant | None = None
    if protocol.is_private(channel):
        if edge.auth_failures.exhausted(conn.client_address):
            raise ProtocolError("Too many failed authentications; retry later", ErrorCode.RATE_LIMITED, channel=channel)
        channel_data = data.get("channel_data") if protocol.is_presence(channel) else None
        if protocol.is_presence(channel) and not isinstance(channel_data, str):
            raise ProtocolError("Presence channels need channel_data", ErrorCode.UNAUTHORIZED, channel=channel)
        ok = signing.verify_channel_auth(
            edge.settings.pusher_app_key,
            edge.settings.pusher_app_secret,
            data.get("auth"),
            conn.socket_id,
            channel,
            channel_data,
        )
        if not ok:
            edge.auth_failures.spend(conn.client_address)
            edge.metrics.inc("edge_auth_failures_total")
            raise ProtocolError(
                f"Invalid signature for {channel}: connection is unauthorized",
                ErrorCode.UNAUTHORIZED,
                channel=channel,
            )
        grant = edge.grants.pop(conn.socket_id, channel)
        if protocol.is_presence(channel):
            membership = _membership(edge, channel, channel_data)
            existing = edge.registry.get(channel)
            if (
                existing is not None
                and str(membership.user_id) not in existing.members
                and len(existing.members) >= edge.config.presence_max_members
            ):
                raise ProtocolError("Presence channel is full", ErrorCode.OVER_CAPACITY, channel=channel)

    if not edge.ready.is_set():
        # Wait (bounded) for the history refill, so a resume right after an edge restart can be served.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(edge.ready.wait(), edge.config.ready_wait)
    if not conn.open:
        return
    # From here on nothing awaits: joining the channel and queueing the replay happen between two
    # deltas, so each delta is either in the replay or delivered live, exactly once.
    if channel in conn.subscriptions:
        _succeeded(edge, conn, channel)
        return
    if grant is not None:
        terminate.bind(conn, grant.user_id, grant.token_hash)
    elif membership is not None:
        terminate.bind(conn, str(membership.user_id))
    edge.registry.subscribe(conn, channel, membership)
    _succeeded(edge, conn, channel)
    _replay(edge, conn, channel, last_seq)


def _succeeded(edge: Edge, conn: Connection, channel: str) -> None:
    registered = edge.registry.get(channel)
    payload: dict[str, Any] = {}
    if registered is not None and registered.presence:
        payload = registered.presence_data()
    conn.send(protocol.encode("pusher_internal:subscription_succeeded", payload, channel))


def _replay(edge: Edge, conn: Connection, channel: str, last_seq: int | None) -> None:
    history = edge.history.get(channel)

    def send(deltas: list[EncodedDelta]) -> None:
        for delta in deltas:
            if delta.exclude_socket_id != conn.socket_id:
                conn.send(delta.out)

    if last_seq is not None:
        missed = history.since(last_seq) if history is not None else ([] if last_seq == 0 else None)
        if missed is not None:
            send(missed)
            return
        current = history.last_seq if history is not None else None
        conn.send(protocol.encode("chinook:resync", {"last_seq": last_seq, "seq": current}, channel))
        send(history.snapshot() if history is not None else [])
        return
    if protocol.is_cache(channel):
        last = history.last() if history is not None else None
        if last is None:
            conn.send(protocol.encode("pusher:cache_miss", {}, channel))
        else:
            send([last])
        return
    send(history.snapshot() if history is not None else [])


def _client_event(edge: Edge, conn: Connection, frame: protocol.ClientFrame, bucket: TokenBucket) -> None:
    channel = frame.channel
    if channel is None or channel not in conn.subscriptions:
        raise ProtocolError("Client events need a channel this connection is subscribed to")
    if not protocol.is_private(channel) or protocol.is_encrypted(channel):
        raise ProtocolError("Client events are only supported on private and presence channels")
    if not any(fnmatch.fnmatchcase(channel, p) for p in edge.config.client_events_channels):
        raise ProtocolError(f"Client events are not enabled on {channel}")
    if not bucket.take():
        edge.metrics.inc("edge_errors_total", code="4301")
        raise ProtocolError("Client event rejected due to rate limit", ErrorCode.RATE_LIMITED)
    out: dict[str, Any] = {"event": frame.event, "channel": channel, "data": frame.data}
    membership = conn.subscriptions.get(channel)
    if membership is not None:
        out["user_id"] = membership.user_id
    text = json.dumps(out, separators=(",", ":"), ensure_ascii=False)
    edge.registry.publish(channel, text, exclude=conn.socket_id)
    if edge.webhooks is not None:
        edge.webhooks.client_event(channel, frame.event, frame.data, conn.socket_id, out.get("user_id"))
