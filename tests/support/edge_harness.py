"""An in-process edge for the unit tests: the Starlette app with a local bus and sink, and a websocket
client speaking the Pusher protocol to it (no services)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient, WebSocketTestSession

from api.app import create_app
from api.history import delta_from_record
from api.signing import channel_auth
from api.state import Edge
from api.tokens import MemoryTokenStore, User
from api.triggers import MemorySink
from schemas.settings import EdgeSettings, Settings

APP_ID, KEY = "4242", "test-key"


SECRET = "test-secret-" + secrets.token_hex(16)  # generated: no published secret, even in tests


METRICS_TOKEN = "metrics-" + secrets.token_hex(16)


ADMIN = User(1, "Ada Admin", "admin@chinook.test", "admin")


ANALYST = User(2, "Ann Analyst", "analyst@chinook.test", "analyst")


VIEWER = User(3, "Vic Viewer", "viewer@chinook.test", "viewer")


@dataclass
class Harness:
    client: TestClient
    edge: Edge
    sink: MemorySink
    tokens: dict[str, str]

    def connect(self, query: str = "?protocol=7", **kwargs: Any) -> WebSocketTestSession:
        return self.client.websocket_connect(f"/app/{KEY}{query}", **kwargs)

    def publish(self, channel: str, event: str, seq: int, data: dict[str, Any] | None = None, **extra: Any) -> None:
        value = json.dumps({"channel": channel, "event": event, "data": data or {}, "seq": seq, "ts_ms": 1, **extra})
        assert self.client.portal is not None
        self.client.portal.call(self.edge.apply, delta_from_record(value))

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        assert self.client.portal is not None
        return self.client.portal.call(fn, *args)


def recv(ws: WebSocketTestSession) -> dict[str, Any]:
    frame = json.loads(ws.receive_text())
    if isinstance(frame.get("data"), str):
        try:
            frame["data"] = json.loads(frame["data"])
        except ValueError:
            pass
    return frame


def handshake(ws: WebSocketTestSession) -> str:
    frame = recv(ws)
    assert frame["event"] == "pusher:connection_established", frame
    return str(frame["data"]["socket_id"])


def subscribe(
    ws: WebSocketTestSession, socket_id: str, channel: str, channel_data: str | None = None, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"channel": channel, **extra}
    if channel.startswith(("private-", "presence-")):
        data["auth"] = channel_auth(KEY, SECRET, socket_id, channel, channel_data)
    if channel_data is not None:
        data["channel_data"] = channel_data
    ws.send_text(json.dumps({"event": "pusher:subscribe", "data": data}))
    return recv(ws)


def make_harness(settings_update: dict[str, Any] | None = None, **config: Any) -> Iterator[Harness]:
    edge = EdgeSettings(consume=False, **{"metrics_token": METRICS_TOKEN, **config})
    settings = Settings(
        pusher_app_id=APP_ID,
        pusher_app_key=KEY,
        pusher_app_secret=SECRET,
        edge=edge,
        **{"pusher_encryption_master_key": "", **(settings_update or {})},  # not the one `make up` put in .env
    )
    store = MemoryTokenStore()
    tokens = {u.role: store.add(u) for u in (ADMIN, ANALYST, VIEWER)}
    sink = MemorySink()
    app = create_app(settings, tokens=store, sink=sink)
    with TestClient(app) as client:
        yield Harness(client=client, edge=app.state.edge, sink=sink, tokens=tokens)
