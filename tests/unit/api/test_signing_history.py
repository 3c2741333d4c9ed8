"""Signatures (against the official `pusher` package) and the per-channel history."""

from __future__ import annotations

import hashlib
import hmac
import json

import pusher
import pytest

from api.history import ChannelHistory, HistoryStore, InvalidDelta, delta_from_record
from api.signing import RequestAuthError, channel_auth, sign_request, verify_channel_auth, verify_request


def test_channel_auth_matches_the_official_library() -> None:
    client = pusher.Pusher(app_id="1", key="k", secret="s")
    theirs = client.authenticate(channel="private-admin.sales", socket_id="123.456")
    assert theirs == {"auth": channel_auth("k", "s", "123.456", "private-admin.sales")}
    data = {"user_id": "7", "user_info": {"name": "x"}}
    theirs = client.authenticate(channel="presence-dashboard", socket_id="1.2", custom_data=data)
    assert theirs["auth"] == channel_auth("k", "s", "1.2", "presence-dashboard", theirs["channel_data"])
    assert verify_channel_auth("k", "s", theirs["auth"], "1.2", "presence-dashboard", theirs["channel_data"])


@pytest.mark.parametrize("auth", [None, 5, "", "k", "k:", "x:" + "0" * 64, "k:" + "0" * 64])
def test_verify_channel_auth_refuses(auth: object) -> None:
    assert not verify_channel_auth("k", "s", auth, "1.2", "private-x")


def test_request_signing_round_trip_and_refusals() -> None:
    body = b'{"name":"e","channels":["c"],"data":"{}"}'
    params = sign_request("k", "s", "POST", "/apps/1/events", body, now=1000)
    verify_request(key="k", secret="s", method="POST", path="/apps/1/events", params=params, body=body, now=1000)
    cases = [
        ({**params, "auth_key": "other"}, body, 1000),
        (params, body + b" ", 1000),
        (params, body, 1000 + 601),
        (params, body, 1000 - 601),
        ({**params, "auth_signature": "0" * 64}, body, 1000),
        ({**params, "auth_version": "2.0"}, body, 1000),
        ({k: v for k, v in params.items() if k != "body_md5"}, body, 1000),
    ]
    for bad_params, bad_body, now in cases:
        with pytest.raises(RequestAuthError):
            verify_request(
                key="k", secret="s", method="POST", path="/apps/1/events", params=bad_params, body=bad_body, now=now
            )
    with pytest.raises(RequestAuthError):  # signed for another path
        verify_request(key="k", secret="s", method="POST", path="/apps/2/events", params=params, body=body, now=1000)


def test_official_library_requests_verify() -> None:
    client = pusher.Pusher(app_id="1", key="k", secret="s")
    from pusher.http import Request

    request = Request(
        client.__dict__["_pusher_client"], "POST", "/apps/1/events", {"name": "e", "channels": ["c"], "data": "{}"}
    )
    verify_request(
        key="k", secret="s", method="POST", path=request.path, params=request.query_params, body=request.body
    )
    md5 = hashlib.md5(request.body).hexdigest()
    assert request.query_params["body_md5"] == md5
    assert hmac.compare_digest(request.query_params["auth_key"], "k")


def record(channel: str, event: str, seq: int) -> bytes:
    return json.dumps({"channel": channel, "event": event, "data": {"a": 1}, "seq": seq, "ts_ms": 5}).encode()


def test_delta_frame_is_encoded_once_with_seq() -> None:
    delta = delta_from_record(record("private-admin.sales", "SalesUpdated", 3))
    frame = json.loads(delta.frame)
    assert frame["event"] == "SalesUpdated" and frame["channel"] == "private-admin.sales"
    assert json.loads(frame["data"]) == {"a": 1, "seq": 3}


@pytest.mark.parametrize(
    "value",
    [
        b"nope",
        b"[]",
        b'{"channel":"c","event":"e"}',
        b'{"channel":"bad name","event":"e","seq":1}',
        b'{"channel":"c","event":"","seq":1}',
    ],
)
def test_invalid_deltas(value: bytes) -> None:
    with pytest.raises(InvalidDelta):
        delta_from_record(value)


def test_history_ring_and_resume() -> None:
    history = ChannelHistory(capacity=3)
    assert history.since(0) == [] and history.since(4) is None
    for seq in range(1, 6):
        assert history.append(delta_from_record(record("c", f"E{seq % 2}", seq)))
    assert not history.append(delta_from_record(record("c", "E", 5)))  # duplicate
    assert not history.append(delta_from_record(record("c", "E", 2)))  # older
    assert [d.seq for d in history.since(2) or []] == [3, 4, 5]
    assert history.since(1) is None  # 2 fell out of the ring
    assert history.since(5) == []
    assert history.since(6) is None  # ahead of us: resync
    assert [d.seq for d in history.snapshot()] == [4, 5]
    history.append(delta_from_record(record("c", "E", 9)))  # a gap
    assert history.since(5) is None and [d.seq for d in history.since(8) or []] == [9]


def test_history_store_bounds_channels() -> None:
    store = HistoryStore(capacity=2, max_channels=2)
    for channel in ("a", "b", "c"):
        store.append(delta_from_record(record(channel, "E", 1)))
    assert list(store) == ["b", "c"]
