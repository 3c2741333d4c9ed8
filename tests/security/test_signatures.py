"""Forged and foreign signatures, name tricks, bad timestamps and md5: each refused, the edge still serves."""

from __future__ import annotations

import hashlib
import json
import time

import httpx
import pytest

from api.signing import request_signature
from tests.support.attacks import private_auth, serves_a_normal_client, signed
from tests.support.edges import APP_ID, KEY, SECRET, Deltas, EdgeFactory, raw_client

pytestmark = pytest.mark.integration

MANY = {"auth_failure_burst": "1000"}  # these tests fail on purpose many times from one address


async def test_forged_and_foreign_channel_signatures(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges(**MANY)
    channel = "private-admin.sales"
    async with raw_client(edge) as other, raw_client(edge) as client:
        forged = {
            "wrong secret": private_auth(client.socket_id, channel, secret="guessed"),
            "another socket's": private_auth(other.socket_id, channel),
            "another channel's": private_auth(client.socket_id, "private-user.3"),
            "another key": "other-key:" + private_auth(client.socket_id, channel).split(":", 1)[1],
            "no key": private_auth(client.socket_id, channel).split(":", 1)[1],
            "upper-case hex": private_auth(client.socket_id, channel).upper(),
            "trailing newline": private_auth(client.socket_id, channel) + "\n",
        }
        for what, auth in forged.items():
            answer = await client.subscribe(channel, auth=auth)
            assert answer["event"] == "pusher:error" and answer["data"]["code"] == 4009, (what, answer)
            refusal = await client.recv(what="the subscription_error")
            assert refusal["event"] == "pusher:subscription_error" and refusal["data"]["status"] == 403, refusal
        good = await client.subscribe(channel, auth=private_auth(client.socket_id, channel))
        assert good["event"] == "pusher_internal:subscription_succeeded", good
    await serves_a_normal_client(edge, deltas)


async def test_prefix_suffix_and_unicode_tricks(edges: EdgeFactory, deltas: Deltas, tokens: dict[str, str]) -> None:
    edge = await edges(**MANY)
    async with raw_client(edge) as client, httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
        sid = client.socket_id
        for channel in (
            "private-user.3\n",  # `$` would have matched
            "private-user.\uff13",  # full-width 3
            "private-user.\u0663",  # Arabic-Indic 3
            "private-user.3\x00",
            " private-user.3",
            "private-admin.sales\n",
        ):
            answer = await http.post(
                "/broadcasting/auth", data={"socket_id": sid, "channel_name": channel}, headers=viewer
            )
            assert answer.status_code == 400, (channel, answer.status_code, answer.text)
        for socket_id in (sid + "\n", sid.replace("1", "\uff11", 1) if "1" in sid else "\uff11.1", "1.2.3", "-1.2"):
            answer = await http.post(
                "/broadcasting/auth", data={"socket_id": socket_id, "channel_name": "private-user.3"}, headers=viewer
            )
            assert answer.status_code == 400, (socket_id, answer.status_code)
        for channel in ("private-admin.sales", "private-admin.sales.x", "private-user.30", "private-user.03"):
            answer = await http.post(
                "/broadcasting/auth", data={"socket_id": sid, "channel_name": channel}, headers=viewer
            )
            assert answer.status_code == 403, (channel, answer.status_code)
        for channel in ("private-admin.sales\n", "private-user.\uff13"):  # on the websocket: not a channel
            answer = await client.subscribe(channel, auth=private_auth(sid, channel))
            assert answer["event"] == "pusher:error", answer
        mine = await http.post(
            "/broadcasting/auth", data={"socket_id": sid, "channel_name": "private-user.3"}, headers=viewer
        )
        assert mine.status_code == 200, mine.text  # viewer@chinook.test is user 3 of the seed
    await serves_a_normal_client(edge, deltas)


async def test_stale_overflowing_and_odd_timestamps(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges(**MANY)
    path = f"/apps/{APP_ID}/channels"
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        for timestamp in (
            str(int(time.time()) - 3600),  # stale
            str(int(time.time()) + 3600),  # from the future
            "9" * 400,  # OverflowError once
            "1" * 5000,  # beyond int()'s digit limit
            "\uff11\uff17\uff10\uff10\uff10\uff10\uff10\uff10\uff10\uff10",  # full-width digits
            f"{int(time.time())}\n",
            f"{time.time():.3f}",
            "",
        ):
            params = signed("GET", path, auth_timestamp=timestamp)
            answer = await http.get(path, params=params)
            assert answer.status_code == 401, (timestamp[:20], answer.status_code, answer.text)
            assert "auth_timestamp" in answer.json()["error"]
    await serves_a_normal_client(edge, deltas)


async def test_body_md5_mismatch_and_forged_request_signatures(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges(**MANY)
    path = f"/apps/{APP_ID}/events"
    body = json.dumps({"name": "SalesUpdated", "channels": ["private-admin.sales"], "data": "{}"}).encode()
    other = json.dumps({"name": "SalesUpdated", "channels": ["private-admin.sales"], "data": '{"x":1}'}).encode()
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        cases = {
            "md5 of another body": signed("POST", path, other),
            "md5 of nothing": signed("POST", path, body, body_md5=hashlib.md5(b"").hexdigest()),
            "published secret": signed("POST", path, body, secret="dev-only-secret-change-me"),
            "wrong key": {**signed("POST", path, body), "auth_key": "other"},
            "signature for GET": {
                **signed("POST", path, body),
                "auth_signature": request_signature(SECRET, "GET", path, signed("POST", path, body)),
            },
        }
        for what, params in cases.items():
            answer = await http.post(path, params=params, content=body, headers=headers)
            assert answer.status_code == 401, (what, answer.status_code, answer.text)
        no_md5 = signed("POST", path)
        answer = await http.post(path, params=no_md5, content=body, headers=headers)
        assert answer.status_code == 401, answer.text
    assert KEY  # the key is the edge's own
    await serves_a_normal_client(edge, deltas)
