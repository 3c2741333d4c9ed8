"""Private and presence cache channels, and ``info`` on triggers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.signing import sign_request
from tests.support.edge_harness import APP_ID, KEY, SECRET, Harness, handshake, recv, subscribe
from tests.unit.api.test_http import auth


@pytest.mark.parametrize(
    ("role", "channel", "status"),
    [
        ("admin", "private-cache-admin.totals", 200),
        ("viewer", "private-cache-admin.totals", 403),
        ("viewer", "private-cache-user.3", 200),
        ("viewer", "private-cache-user.1", 403),
        ("viewer", "presence-cache-dashboard", 200),
        ("viewer", "presence-cache-admin.room", 403),
        ("admin", "private-cache-secret", 403),
    ],
)
def test_cache_variants_follow_the_plain_policy(harness: Harness, role: str, channel: str, status: int) -> None:
    assert auth(harness, role, channel).status_code == status


def test_private_cache_channel_replays_the_last_event(harness: Harness) -> None:
    channel = "private-cache-admin.totals"
    with harness.connect() as ws:
        socket_id = handshake(ws)
        assert subscribe(ws, socket_id, channel)["event"] == "pusher_internal:subscription_succeeded"
        assert recv(ws)["event"] == "pusher:cache_miss"
        harness.publish(channel, "Totals", 1, {"total": "1.00"})
        harness.publish(channel, "Totals", 2, {"total": "2.00"})
        assert [recv(ws)["data"]["total"] for _ in range(2)] == ["1.00", "2.00"]
    with harness.connect() as late:
        socket_id = handshake(late)
        subscribe(late, socket_id, channel)
        assert recv(late)["data"] == {"total": "2.00", "seq": 2}


def test_presence_cache_channel_has_members_and_a_cache(harness: Harness) -> None:
    channel = "presence-cache-dashboard"
    with harness.connect() as ws:
        socket_id = handshake(ws)
        answer = auth(harness, "viewer", channel, socket_id=socket_id).json()
        ws.send_text(
            json.dumps(
                {
                    "event": "pusher:subscribe",
                    "data": {"channel": channel, "auth": answer["auth"], "channel_data": answer["channel_data"]},
                }
            )
        )
        ok = recv(ws)
        assert ok["event"] == "pusher_internal:subscription_succeeded" and ok["data"]["presence"]["count"] == 1
        assert recv(ws)["event"] == "pusher:cache_miss"


def post(harness: Harness, path: str, body: dict[str, Any]) -> Any:
    raw = json.dumps(body).encode()
    params = sign_request(KEY, SECRET, "POST", path, raw)
    return harness.client.post(path, params=params, content=raw, headers={"content-type": "application/json"})


def test_info_on_trigger(harness: Harness) -> None:
    with harness.connect() as one, harness.connect() as two, harness.connect() as member:
        for ws in (one, two):
            subscribe(ws, handshake(ws), "public-feed")
        subscribe(member, handshake(member), "presence-dashboard", json.dumps({"user_id": "7", "user_info": {}}))
        path = f"/apps/{APP_ID}/events"
        body = {
            "name": "E",
            "channels": ["public-feed", "presence-dashboard", "public-empty"],
            "data": "{}",
            "info": "subscription_count,user_count",
        }
        response = post(harness, path, body)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "channels": {
                "public-feed": {"subscription_count": 2},
                "presence-dashboard": {"subscription_count": 1, "user_count": 1},
                "public-empty": {"subscription_count": 0},
            }
        }
        assert post(harness, path, {**body, "info": None}).json() == {}
        assert post(harness, path, {**body, "info": "bogus"}).status_code == 400
        batch = {
            "batch": [
                {"channel": "public-feed", "name": "E", "data": "{}", "info": "subscription_count"},
                {"channel": "public-feed", "name": "E", "data": "{}"},
            ]
        }
        assert post(harness, f"/apps/{APP_ID}/batch_events", batch).json() == {"batch": [{"subscription_count": 2}, {}]}
