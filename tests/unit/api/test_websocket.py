"""The Pusher protocol at /app/{key}, driven through Starlette's TestClient."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api.signing import channel_auth
from tests.support.edge_harness import KEY, METRICS_TOKEN, Harness, handshake, make_harness, recv, subscribe


def ping_pong(ws: WebSocketTestSession) -> dict[str, object]:
    """Send a ping and return the next frame: a pong proves nothing else was queued before it."""
    ws.send_text(json.dumps({"event": "pusher:ping", "data": {}}))
    return recv(ws)


def assert_refused(ws: WebSocketTestSession, code: int) -> None:
    frame = recv(ws)
    assert frame["event"] == "pusher:error" and frame["data"]["code"] == code, frame
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == code


def test_connection_established(harness: Harness) -> None:
    with harness.connect() as ws:
        frame = json.loads(ws.receive_text())
        assert frame["event"] == "pusher:connection_established"
        data = json.loads(frame["data"])  # a JSON string, as Pusher sends it
        assert re.fullmatch(r"\d+\.\d+", data["socket_id"])
        assert data["activity_timeout"] == 120
        assert ping_pong(ws)["event"] == "pusher:pong"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/app/wrong-key?protocol=7", 4001),
        (f"/app/{KEY}", 4008),
        (f"/app/{KEY}?protocol=3", 4007),
        (f"/app/{KEY}?protocol=x", 4006),
    ],
)
def test_refused_handshakes(harness: Harness, path: str, code: int) -> None:
    with harness.client.websocket_connect(path) as ws:
        assert_refused(ws, code)


def test_origins(harness: Harness) -> None:
    with harness.connect(headers={"origin": "https://evil.example"}) as ws:
        assert_refused(ws, 4009)
    with harness.connect(headers={"origin": "http://localhost:5173"}) as ws:
        handshake(ws)
    assert harness.edge.metrics.value("edge_connections_refused_total", reason="origin") == 1


def test_over_capacity() -> None:
    for harness in make_harness(max_connections=1):
        with harness.connect() as first:
            handshake(first)
            with harness.connect() as second:
                assert_refused(second, 4100)


def test_public_subscribe_and_delivery_carries_seq(harness: Harness) -> None:
    with harness.connect() as ws:
        sid = handshake(ws)
        ok = subscribe(ws, sid, "public-feed")
        assert ok == {"event": "pusher_internal:subscription_succeeded", "channel": "public-feed", "data": {}}
        harness.publish("public-feed", "Tick", 1, {"total": "1.98"})
        frame = recv(ws)
        assert frame == {"event": "Tick", "channel": "public-feed", "data": {"total": "1.98", "seq": 1}}
        ws.send_text(json.dumps({"event": "pusher:unsubscribe", "data": {"channel": "public-feed"}}))
        harness.publish("public-feed", "Tick", 2)
        assert ping_pong(ws)["event"] == "pusher:pong"


def test_private_channel_needs_the_signature_of_this_socket(harness: Harness) -> None:
    with harness.connect() as ws, harness.connect() as other:
        sid = handshake(ws)
        other_sid = handshake(other)
        forged = {"channel": "private-admin.sales", "auth": f"{KEY}:{'0' * 64}"}
        stolen = {
            "channel": "private-admin.sales",
            "auth": channel_auth(KEY, "test-secret", other_sid, "private-admin.sales"),
        }
        wrong_secret = {"channel": "private-admin.sales", "auth": channel_auth(KEY, "nope", sid, "private-admin.sales")}
        for data in (forged, stolen, wrong_secret, {"channel": "private-admin.sales"}):
            ws.send_text(json.dumps({"event": "pusher:subscribe", "data": data}))
            error = recv(ws)
            assert error["event"] == "pusher:error" and error["data"]["code"] == 4009
            scoped = recv(ws)
            assert scoped["event"] == "pusher:subscription_error" and scoped["channel"] == "private-admin.sales"
            assert scoped["data"]["status"] == 403
        harness.publish("private-admin.sales", "SalesUpdated", 1)
        assert ping_pong(ws)["event"] == "pusher:pong"  # nothing delivered
        ok = subscribe(ws, sid, "private-admin.sales")
        assert ok["event"] == "pusher_internal:subscription_succeeded"
        assert recv(ws)["event"] == "SalesUpdated"  # the snapshot


def test_presence_members(harness: Harness) -> None:
    ada = json.dumps({"user_id": "1", "user_info": {"name": "Ada"}})
    ann = json.dumps({"user_id": "2", "user_info": {"name": "Ann"}})
    with harness.connect() as a:
        sid_a = handshake(a)
        first = subscribe(a, sid_a, "presence-dashboard", ada)
        assert first["data"] == {"presence": {"ids": ["1"], "hash": {"1": {"name": "Ada"}}, "count": 1}}
        with harness.connect() as b:
            sid_b = handshake(b)
            second = subscribe(b, sid_b, "presence-dashboard", ann)
            assert second["data"]["presence"]["count"] == 2
            assert set(second["data"]["presence"]["ids"]) == {"1", "2"}
            added = recv(a)
            assert added == {
                "event": "pusher_internal:member_added",
                "channel": "presence-dashboard",
                "data": {"user_id": "2", "user_info": {"name": "Ann"}},
            }
        removed = recv(a)
        assert removed["event"] == "pusher_internal:member_removed" and removed["data"] == {"user_id": "2"}


def test_presence_channel_data_is_signed(harness: Harness) -> None:
    signed = json.dumps({"user_id": "2", "user_info": {"name": "Ann"}})
    with harness.connect() as ws:
        sid = handshake(ws)
        data = {
            "channel": "presence-dashboard",
            "auth": channel_auth(KEY, "test-secret", sid, "presence-dashboard", signed),
            "channel_data": json.dumps({"user_id": "1", "user_info": {"name": "Ada"}}),  # not what was signed
        }
        ws.send_text(json.dumps({"event": "pusher:subscribe", "data": data}))
        assert recv(ws)["data"]["code"] == 4009


def test_cache_channel(harness: Harness) -> None:
    with harness.connect() as ws:
        sid = handshake(ws)
        subscribe(ws, sid, "cache-weather")
        assert recv(ws) == {"event": "pusher:cache_miss", "channel": "cache-weather", "data": {}}
        harness.publish("cache-weather", "Sunny", 1)
        harness.publish("cache-weather", "Rainy", 2)
        assert recv(ws)["event"] == "Sunny"
        assert recv(ws)["event"] == "Rainy"
    with harness.connect() as late:
        sid = handshake(late)
        subscribe(late, sid, "cache-weather")
        last = recv(late)
        assert last["event"] == "Rainy" and last["data"]["seq"] == 2
        assert ping_pong(late)["event"] == "pusher:pong"


def test_snapshot_is_last_event_per_name(harness: Harness) -> None:
    for seq, event in enumerate(["SalesUpdated", "SaleCompleted", "SalesUpdated", "SaleCompleted", "SalesUpdated"], 1):
        harness.publish("public-sales", event, seq, {"n": seq})
    with harness.connect() as ws:
        sid = handshake(ws)
        subscribe(ws, sid, "public-sales")
        assert [recv(ws)["data"]["seq"] for _ in range(2)] == [4, 5]
        assert ping_pong(ws)["event"] == "pusher:pong"


@pytest.fixture
def small_history() -> Iterator[Harness]:
    yield from make_harness(history_size=5)


def test_resume_with_last_seq(small_history: Harness) -> None:
    h = small_history
    for seq in range(1, 9):
        h.publish("public-feed", "Tick", seq)
    with h.connect() as ws:
        sid = handshake(ws)
        subscribe(ws, sid, "public-feed", last_seq=5)
        assert [recv(ws)["data"]["seq"] for _ in range(3)] == [6, 7, 8]
        h.publish("public-feed", "Tick", 9)
        assert recv(ws)["data"]["seq"] == 9
        assert ping_pong(ws)["event"] == "pusher:pong"
    with h.connect() as current:
        sid = handshake(current)
        subscribe(current, sid, "public-feed", last_seq=9)
        assert ping_pong(current)["event"] == "pusher:pong"  # up to date: nothing to replay
    with h.connect() as too_old:
        sid = handshake(too_old)
        subscribe(too_old, sid, "public-feed", last_seq=2)  # the ring holds 5..9
        resync = recv(too_old)
        assert resync == {"event": "chinook:resync", "channel": "public-feed", "data": {"last_seq": 2, "seq": 9}}
        assert recv(too_old)["data"]["seq"] == 9  # the current state follows
        assert ping_pong(too_old)["event"] == "pusher:pong"


def test_duplicates_are_not_delivered_twice(harness: Harness) -> None:
    with harness.connect() as ws:
        sid = handshake(ws)
        subscribe(ws, sid, "public-feed")
        harness.publish("public-feed", "Tick", 1)
        harness.publish("public-feed", "Tick", 1)
        harness.publish("public-feed", "Tick", 2)
        assert [recv(ws)["data"]["seq"] for _ in range(2)] == [1, 2]
        assert ping_pong(ws)["event"] == "pusher:pong"


def test_excluded_socket_does_not_get_its_own_event(harness: Harness) -> None:
    with harness.connect() as a, harness.connect() as b:
        sid_a, sid_b = handshake(a), handshake(b)
        subscribe(a, sid_a, "public-feed")
        subscribe(b, sid_b, "public-feed")
        harness.publish("public-feed", "Tick", 1, exclude_socket_id=sid_a)
        assert recv(b)["data"]["seq"] == 1
        assert ping_pong(a)["event"] == "pusher:pong"


def test_bad_frames_answer_errors_and_keep_the_connection(harness: Harness) -> None:
    with harness.connect() as ws:
        sid = handshake(ws)
        for text in ("not json", "[1,2]", '{"data":{}}', '{"event":"hello"}', '{"event":"pusher:subscribe","data":1}'):
            ws.send_text(text)
            assert recv(ws)["event"] == "pusher:error"
        ws.send_text(json.dumps({"event": "pusher:subscribe", "data": {"channel": "bad name!"}}))
        assert recv(ws)["event"] == "pusher:error"
        ws.send_text(json.dumps({"event": "pusher:subscribe", "data": {"channel": "x", "last_seq": -1}}))
        assert recv(ws)["event"] == "pusher:error"
        ws.send_text("x" * 20_000)
        error = recv(ws)
        assert error["event"] == "pusher:error" and error["data"]["code"] == 4300
        assert subscribe(ws, sid, "public-ok")["event"] == "pusher_internal:subscription_succeeded"


def test_client_events_off_by_default(harness: Harness) -> None:
    with harness.connect() as ws:
        sid = handshake(ws)
        subscribe(ws, sid, "private-admin.chat")
        ws.send_text(json.dumps({"event": "client-typing", "channel": "private-admin.chat", "data": {}}))
        assert recv(ws)["event"] == "pusher:error"


@pytest.fixture
def chatty() -> Iterator[Harness]:
    yield from make_harness(
        client_events_channels=["presence-dashboard*", "public-*"], client_event_burst=2, client_event_rate=0.01
    )


def test_client_events_where_configured(chatty: Harness) -> None:
    ada = json.dumps({"user_id": "1", "user_info": {"name": "Ada"}})
    ann = json.dumps({"user_id": "2", "user_info": {"name": "Ann"}})
    with chatty.connect() as a, chatty.connect() as b:
        sid_a, sid_b = handshake(a), handshake(b)
        subscribe(a, sid_a, "presence-dashboard", ada)
        subscribe(b, sid_b, "presence-dashboard", ann)
        recv(a)  # member_added
        a.send_text(json.dumps({"event": "client-typing", "channel": "presence-dashboard", "data": {"x": 1}}))
        got = json.loads(b.receive_text())
        assert got == {"event": "client-typing", "channel": "presence-dashboard", "data": {"x": 1}, "user_id": "1"}
        assert ping_pong(a)["event"] == "pusher:pong"  # not echoed to the sender
        a.send_text(json.dumps({"event": "client-typing", "channel": "presence-dashboard", "data": {}}))
        a.send_text(json.dumps({"event": "client-typing", "channel": "presence-dashboard", "data": {}}))
        limited = recv(a)
        assert limited["event"] == "pusher:error" and limited["data"]["code"] == 4301
        subscribe(a, sid_a, "public-x")
        a.send_text(json.dumps({"event": "client-x", "channel": "public-x", "data": {}}))
        assert recv(a)["event"] == "pusher:error"  # never on public channels


@pytest.mark.timeout(15)
def test_pong_timeout_closes_with_4201() -> None:
    for harness in make_harness(activity_timeout=1, pong_timeout=0.3):
        with harness.connect() as ws:
            handshake(ws)
            assert recv(ws)["event"] == "pusher:ping"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 4201


@pytest.mark.timeout(15)
def test_answered_ping_keeps_the_connection() -> None:
    for harness in make_harness(activity_timeout=1, pong_timeout=0.5):
        with harness.connect() as ws:
            handshake(ws)
            for _ in range(2):
                assert recv(ws)["event"] == "pusher:ping"
                ws.send_text(json.dumps({"event": "pusher:pong", "data": {}}))
            assert ping_pong(ws)["event"] == "pusher:pong"


def test_metrics_and_health(harness: Harness) -> None:
    with harness.connect() as ws:
        sid = handshake(ws)
        subscribe(ws, sid, "public-feed")
        text = harness.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        assert "edge_connections 1" in text
        assert 'edge_subscriptions{channel="public"} 1' in text  # channel families, not names
        assert "edge_messages_in_total 1" in text
    health = harness.client.get("/healthz").json()
    assert health["status"] == "ok" and health["history_ready"] is True
