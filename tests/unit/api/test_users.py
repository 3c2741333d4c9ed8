"""`pusher:signin`, /broadcasting/user-auth and events to one user (``#server-to-user-{id}``)."""

from __future__ import annotations

import json
from typing import Any

import pusher
from starlette.testclient import WebSocketTestSession

from api.signing import sign_request
from api.users import user_auth, verify_user_auth
from tests.support.edge_harness import APP_ID, KEY, SECRET, Harness, handshake, recv
from tests.unit.api.test_http import official


def user_token(harness: Harness, role: str, socket_id: str) -> dict[str, Any]:
    response = harness.client.post(
        "/broadcasting/user-auth",
        data={"socket_id": socket_id},
        headers={"Authorization": f"Bearer {harness.tokens[role]}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def signin(ws: WebSocketTestSession, auth: Any) -> dict[str, Any]:
    ws.send_text(json.dumps({"event": "pusher:signin", "data": auth}))
    return recv(ws)


def test_user_auth_signs_id_and_name_only(harness: Harness) -> None:
    body = user_token(harness, "admin", "1.2")
    assert json.loads(body["user_data"]) == {"id": "1", "name": "Ada Admin"}
    assert verify_user_auth(KEY, SECRET, body["auth"], "1.2", body["user_data"])
    # The official SDK's signature (over its own encoding) verifies with the edge's rule.
    sdk = pusher.Pusher(app_id="1", key=KEY, secret=SECRET).authenticate_user("1.2", {"id": "1", "name": "Ada"})
    assert verify_user_auth(KEY, SECRET, sdk["auth"], "1.2", sdk["user_data"])


def test_user_auth_refusals(harness: Harness) -> None:
    assert harness.client.post("/broadcasting/user-auth", data={"socket_id": "1.2"}).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert harness.client.post("/broadcasting/user-auth", data={"socket_id": "1.2"}, headers=bad).status_code == 401
    ok = {"Authorization": f"Bearer {harness.tokens['viewer']}"}
    assert harness.client.post("/broadcasting/user-auth", data={"socket_id": "x"}, headers=ok).status_code == 400
    assert harness.client.post("/broadcasting/user-auth", content=b"\xff", headers=ok).status_code == 400


def test_signin_then_user_channel_gets_send_to_user(harness: Harness) -> None:
    with harness.connect() as ws:
        socket_id = handshake(ws)
        body = user_token(harness, "viewer", socket_id)
        ok = signin(ws, body)
        assert ok["event"] == "pusher:signin_success" and ok["data"] == {"user_data": body["user_data"]}
        ws.send_text(json.dumps({"event": "pusher:subscribe", "data": {"channel": "#server-to-user-3", "auth": ""}}))
        subscribed = recv(ws)
        assert subscribed["event"] == "pusher_internal:subscription_succeeded"
        assert subscribed["channel"] == "#server-to-user-3"
        official(harness).send_to_user("3", "Hello", {"total": "9.99"})
        event = recv(ws)
        assert event == {"event": "Hello", "channel": "#server-to-user-3", "data": {"total": "9.99"}}
        assert harness.sink.sent == []  # user events never go to the worker's topic
        assert official(harness).channels_info() == {"channels": {}}  # user channels are not listed


def test_user_channel_needs_the_matching_signin(harness: Harness) -> None:
    with harness.connect() as ws:
        socket_id = handshake(ws)
        ws.send_text(json.dumps({"event": "pusher:subscribe", "data": {"channel": "#server-to-user-3"}}))
        assert recv(ws)["data"]["code"] == 4009
        assert recv(ws)["event"] == "pusher:subscription_error"
        signin(ws, user_token(harness, "viewer", socket_id))
        ws.send_text(json.dumps({"event": "pusher:subscribe", "data": {"channel": "#server-to-user-1"}}))
        assert recv(ws)["data"]["code"] == 4009  # signed in as 3, not 1
        assert recv(ws)["event"] == "pusher:subscription_error"


def test_forged_signins_are_refused(harness: Harness) -> None:
    with harness.connect() as ws:
        socket_id = handshake(ws)
        other = user_token(harness, "viewer", "9.9")  # signed for another socket
        forged_data = json.dumps({"id": "1", "name": "Ada Admin"})
        cases: list[Any] = [
            other,
            {"auth": other["auth"], "user_data": forged_data},
            {"auth": user_auth(KEY, "wrong", socket_id, forged_data), "user_data": forged_data},
            {"auth": user_auth(KEY, SECRET, socket_id, "[]"), "user_data": "[]"},
            {"auth": user_auth(KEY, SECRET, socket_id, '{"id":1}'), "user_data": '{"id":1}'},
            {"user_data": 5},
            "nonsense",
        ]
        for case in cases:
            refused = signin(ws, case)
            assert refused["event"] == "pusher:error" and refused["data"]["code"] == 4009, (case, refused)
        conn = harness.edge.connections[socket_id]
        assert conn.user_id is None


def test_send_to_user_with_socket_id_excludes_that_socket(harness: Harness) -> None:
    with harness.connect() as one, harness.connect() as two:
        ids = []
        for ws in (one, two):
            socket_id = handshake(ws)
            ids.append(socket_id)
            signin(ws, user_token(harness, "admin", socket_id))
            ws.send_text(json.dumps({"event": "pusher:subscribe", "data": {"channel": "#server-to-user-1"}}))
            recv(ws)
        body = {"name": "E", "channels": ["#server-to-user-1"], "data": "{}", "socket_id": ids[0]}
        raw = json.dumps(body).encode()
        path = f"/apps/{APP_ID}/events"
        params = sign_request(KEY, SECRET, "POST", path, raw)
        response = harness.client.post(path, params=params, content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 200, response.text
        assert recv(two)["event"] == "E"
        one.send_text(json.dumps({"event": "pusher:ping", "data": {}}))
        assert recv(one)["event"] == "pusher:pong"  # nothing for the excluded socket
