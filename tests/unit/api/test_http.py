"""/broadcasting/auth and the Pusher HTTP API through the official `pusher` package."""

from __future__ import annotations

import json
import time
from typing import Any

import pusher
import pytest
from pusher.http import process_response
from starlette.testclient import TestClient

from api.signing import channel_auth, sign_request, verify_channel_auth
from tests.support.edge_harness import APP_ID, KEY, SECRET, Harness, handshake, subscribe


class StarletteBackend:
    """A `pusher` backend that sends its (signed) requests through Starlette's TestClient."""

    def __init__(self, client: Any, test_client: TestClient) -> None:
        self.client = client
        self.test_client = test_client

    def send_request(self, request: Any) -> Any:
        response = self.test_client.request(
            request.method, request.signed_path, headers=request.headers, content=request.body or None
        )
        return process_response(response.status_code, response.text)


def official(harness: Harness, secret: str = SECRET) -> pusher.Pusher:
    return pusher.Pusher(app_id=APP_ID, key=KEY, secret=secret, backend=StarletteBackend, test_client=harness.client)


def auth(harness: Harness, role: str | None, channel: str, *, as_json: bool = False, socket_id: str = "123.456") -> Any:
    headers = {"Authorization": f"Bearer {harness.tokens[role]}"} if role else {}
    body = {"socket_id": socket_id, "channel_name": channel}
    if as_json:
        return harness.client.post("/broadcasting/auth", json=body, headers=headers)
    return harness.client.post("/broadcasting/auth", data=body, headers=headers)


def test_admin_gets_private_admin_channels(harness: Harness) -> None:
    for as_json in (False, True):
        response = auth(harness, "admin", "private-admin.sales", as_json=as_json)
        assert response.status_code == 200
        assert response.json() == {"auth": channel_auth(KEY, SECRET, "123.456", "private-admin.sales")}


@pytest.mark.parametrize(
    ("role", "channel", "status"),
    [
        ("viewer", "private-admin.sales", 403),
        ("analyst", "private-admin.invoices", 403),
        ("viewer", "private-user.1", 403),  # another user's channel
        ("viewer", "private-user.3", 200),  # its own
        ("admin", "private-user.1", 200),
        ("admin", "private-secret", 403),  # default deny
        ("admin", "public-feed", 403),
        ("admin", "private-encrypted-admin.sales", 403),
        (None, "private-admin.sales", 401),
    ],
)
def test_policy(harness: Harness, role: str | None, channel: str, status: int) -> None:
    assert auth(harness, role, channel).status_code == status


def test_bad_tokens_and_bodies(harness: Harness) -> None:
    body = {"socket_id": "1.2", "channel_name": "private-admin.sales"}
    assert (
        harness.client.post("/broadcasting/auth", data=body, headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    assert harness.client.post("/broadcasting/auth", data=body, headers={"Authorization": "Basic x"}).status_code == 401
    headers = {"Authorization": f"Bearer {harness.tokens['admin']}"}
    for bad in ({"socket_id": "x", "channel_name": "private-a"}, {"channel_name": "private-a"}, {"socket_id": "1.2"}):
        assert harness.client.post("/broadcasting/auth", data=bad, headers=headers).status_code == 400


def test_presence_auth_has_channel_data(harness: Harness) -> None:
    response = auth(harness, "viewer", "presence-dashboard")
    assert response.status_code == 200
    body = response.json()
    assert json.loads(body["channel_data"]) == {"user_id": "3", "user_info": {"name": "Vic Viewer"}}
    assert verify_channel_auth(KEY, SECRET, body["auth"], "123.456", "presence-dashboard", body["channel_data"])


def test_auth_answer_subscribes_on_the_websocket(harness: Harness) -> None:
    with harness.connect() as ws:
        sid = handshake(ws)
        body = auth(harness, "admin", "private-admin.sales", socket_id=sid).json()
        ws.send_text(json.dumps({"event": "pusher:subscribe", "data": {"channel": "private-admin.sales", **body}}))
        assert json.loads(ws.receive_text())["event"] == "pusher_internal:subscription_succeeded"


def test_trigger_through_the_official_library(harness: Harness) -> None:
    client = official(harness)
    client.trigger(["private-admin.sales", "public-feed"], "Announce", {"text": "hi"}, socket_id="1.2")
    assert [(t.channel, t.event, t.data, t.socket_id) for t in harness.sink.sent] == [
        ("private-admin.sales", "Announce", {"text": "hi"}, "1.2"),
        ("public-feed", "Announce", {"text": "hi"}, "1.2"),
    ]
    client.trigger_batch(
        [
            {"channel": "public-feed", "name": "A", "data": {"n": 1}},
            {"channel": "public-x", "name": "B", "data": "plain"},
        ]
    )
    assert [(t.channel, t.data) for t in harness.sink.sent[2:]] == [("public-feed", {"n": 1}), ("public-x", "plain")]
    record = json.loads(harness.sink.sent[0].record_value(ts_ms=7))
    assert record == {
        "channel": "private-admin.sales",
        "event": "Announce",
        "data": {"text": "hi"},
        "ts_ms": 7,
        "socket_id": "1.2",
    }


def test_trigger_refusals(harness: Harness) -> None:
    with pytest.raises(pusher.errors.PusherBadAuth):
        official(harness, secret="wrong").trigger("public-feed", "E", {})
    body = json.dumps({"name": "E", "channels": ["public-feed"], "data": "{}"}).encode()
    stale = sign_request(KEY, SECRET, "POST", f"/apps/{APP_ID}/events", body, now=time.time() - 700)
    assert harness.client.post(f"/apps/{APP_ID}/events", params=stale, content=body).status_code == 401
    tampered = sign_request(KEY, SECRET, "POST", f"/apps/{APP_ID}/events", body)
    assert harness.client.post(f"/apps/{APP_ID}/events", params=tampered, content=body + b" ").status_code == 401
    unsigned = {"auth_key": KEY, "auth_timestamp": str(int(time.time())), "auth_version": "1.0"}
    assert harness.client.post(f"/apps/{APP_ID}/events", params=unsigned, content=body).status_code == 401
    other_app = sign_request(KEY, SECRET, "POST", "/apps/other/events", body)
    assert harness.client.post("/apps/other/events", params=other_app, content=body).status_code == 404

    def post(payload: dict[str, Any], path: str = "events") -> int:
        raw = json.dumps(payload).encode()
        params = sign_request(KEY, SECRET, "POST", f"/apps/{APP_ID}/{path}", raw)
        return harness.client.post(f"/apps/{APP_ID}/{path}", params=params, content=raw).status_code

    assert post({"name": "E", "channels": ["c"], "data": "x" * 10_241}) == 413
    assert post({"name": "E", "channels": [f"c{i}" for i in range(101)], "data": "{}"}) == 400
    assert post({"name": "E", "channels": ["bad name"], "data": "{}"}) == 400
    assert post({"name": "pusher:x", "channels": ["c"], "data": "{}"}) == 400
    assert post({"name": "E", "channels": ["c"], "data": {"not": "a string"}}) == 400
    assert post({"batch": [{"channel": "c", "name": "E", "data": "{}"}] * 11}, "batch_events") == 400
    assert harness.sink.sent == []


def test_channel_queries(harness: Harness) -> None:
    ada = json.dumps({"user_id": "1", "user_info": {"name": "Ada"}})
    with harness.connect() as a, harness.connect() as b:
        sid_a, sid_b = handshake(a), handshake(b)
        subscribe(a, sid_a, "presence-dashboard", ada)
        subscribe(b, sid_b, "presence-dashboard", ada)  # the same user twice
        subscribe(b, sid_b, "public-feed")
        client = official(harness)
        assert client.channels_info() == {"channels": {"presence-dashboard": {}, "public-feed": {}}}
        assert client.channels_info(prefix_filter="presence-", attributes=["user_count"]) == {
            "channels": {"presence-dashboard": {"user_count": 1}}
        }
        assert client.channel_info("presence-dashboard", ["user_count", "subscription_count"]) == {
            "occupied": True,
            "user_count": 1,
            "subscription_count": 2,
        }
        assert client.channel_info("public-none") == {"occupied": False}
        assert client.users_info("presence-dashboard") == {"users": [{"id": "1"}]}
        with pytest.raises(pusher.errors.PusherBadRequest):
            client.channels_info(attributes=["user_count"])
