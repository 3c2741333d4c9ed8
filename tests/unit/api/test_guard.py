"""The edge's bounds in isolation: JSON depth, per-address buckets, bounded metric labels, the
metrics token, the published-secret rule, and cutting a user off on one edge."""

from __future__ import annotations

import json

import pytest
from starlette.websockets import WebSocketDisconnect

from api.bodies import BadInput, json_depth, parse_json
from api.metrics import channel_label, scrape_allowed
from api.ratelimit import KeyedBuckets, OncePer
from api.signing import channel_auth, sign_request
from schemas.settings import PUBLISHED_SECRET, Settings
from tests.support.edge_harness import APP_ID, KEY, SECRET, Harness, handshake, recv


def test_json_depth_ignores_brackets_in_strings() -> None:
    assert json_depth(b'{"a":[1,{"b":"[[[\\"["}]}') == 3
    assert json_depth("[" * 3000 + "]" * 3000) == 3000
    assert json_depth(b'"\\\\"[[]]') == 2
    with pytest.raises(BadInput):
        parse_json("[" * 40 + "]" * 40, 32)
    with pytest.raises(BadInput, match="surrogate"):
        parse_json('{"a":"\\ud800"}', 32)
    assert parse_json('{"a":"\\ud83d\\ude00"}', 32) == {"a": "\U0001f600"}  # a proper pair is fine


def test_buckets_per_key_and_once_per_interval() -> None:
    buckets = KeyedBuckets(rate=1.0, burst=2, max_keys=2)
    assert buckets.spend("a") and buckets.spend("a") and not buckets.spend("a")
    assert buckets.exhausted("a") and not buckets.exhausted("b")
    buckets.spend("b")
    buckets.spend("c")  # "a" was the least recently used: forgotten
    assert not buckets.exhausted("a")
    once = OncePer(10.0)
    assert once("x", now=0.0) and not once("x", now=5.0) and once("y", now=5.0) and once("x", now=10.5)


def test_channel_labels_are_bounded() -> None:
    assert channel_label("private-admin.sales") == "private-admin.sales"
    assert channel_label("private-user.3") == "private-user.*"
    assert channel_label("presence-dashboard.team") == "presence-dashboard*"
    assert {channel_label(f"flood-{i}") for i in range(1000)} == {"public"}


def test_scrape_needs_the_token() -> None:
    assert scrape_allowed("Bearer s3cret", "s3cret")
    assert not scrape_allowed("Bearer other", "s3cret")
    assert not scrape_allowed(None, "s3cret")
    assert not scrape_allowed("Bearer ", "")  # no token set: nobody


def test_published_secret_is_refused_unless_allowed() -> None:
    assert "PUSHER_APP_SECRET" in (Settings(pusher_app_secret=PUBLISHED_SECRET).published_secret_problem() or "")
    assert Settings(pusher_app_secret="").published_secret_problem() is not None
    assert Settings(pusher_app_secret=PUBLISHED_SECRET, pusher_allow_dev_secret=True).published_secret_problem() is None
    assert Settings(pusher_app_secret=SECRET).published_secret_problem() is None


def test_terminate_connections_closes_the_users_sockets(harness: Harness) -> None:
    channel = "presence-dashboard"
    with harness.connect() as ws, harness.connect() as other:
        sid = handshake(ws)
        handshake(other)
        data = json.dumps({"user_id": "7", "user_info": {}})
        ws.send_text(
            json.dumps(
                {
                    "event": "pusher:subscribe",
                    "data": {
                        "channel": channel,
                        "auth": channel_auth(KEY, SECRET, sid, channel, data),
                        "channel_data": data,
                    },
                }
            )
        )
        assert recv(ws)["event"] == "pusher_internal:subscription_succeeded"
        path = f"/apps/{APP_ID}/users/7/terminate_connections"
        answer = harness.client.post(path, params=sign_request(KEY, SECRET, "POST", path))
        assert answer.status_code == 200, answer.text
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_text()
        assert closed.value.code == 4009
        other.send_text(json.dumps({"event": "pusher:ping", "data": {}}))
        assert recv(other)["event"] == "pusher:pong"  # another user's connection stays


def test_oversized_and_deep_bodies_are_4xx(harness: Harness) -> None:
    headers = {"Authorization": f"Bearer {harness.tokens['admin']}", "Content-Type": "application/json"}
    assert harness.client.post("/broadcasting/auth", content=b"x" * 10_000, headers=headers).status_code == 413
    assert harness.client.post("/broadcasting/auth", content=b"[" * 3000, headers=headers).status_code == 400
    path = f"/apps/{APP_ID}/events"
    body = b"[" * 3000 + b"]" * 3000
    answer = harness.client.post(path, params=sign_request(KEY, SECRET, "POST", path, body), content=body)
    assert answer.status_code == 400 and "nested" in answer.json()["error"]
