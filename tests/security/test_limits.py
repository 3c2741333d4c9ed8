"""/metrics behind its token, bounded series, a per-connection subscription cap, failed
authentications rate-limited per address, nosniff/no-store on the API: each checked, then a normal client."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from tests.support.attacks import private_auth, serves_a_normal_client
from tests.support.edges import METRICS_TOKEN, Deltas, EdgeFactory, raw_client

pytestmark = pytest.mark.integration


async def test_metrics_need_the_token_and_show_no_user(
    edges: EdgeFactory, deltas: Deltas, tokens: dict[str, str]
) -> None:
    edge = await edges()
    async with raw_client(edge) as viewer, httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        channel = "private-user.3"
        assert (await viewer.subscribe(channel, auth=private_auth(viewer.socket_id, channel)))["event"] == (
            "pusher_internal:subscription_succeeded"
        )
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {METRICS_TOKEN}"}):
            refused = await http.get("/metrics", headers=headers)
            assert refused.status_code == 401, (headers, refused.status_code)
            assert "edge_" not in refused.text
            assert refused.headers["cache-control"] == "no-store"
        scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200
        assert 'edge_subscriptions{channel="private-user.*"} 1' in scraped.text
        assert "private-user.3" not in scraped.text
    await serves_a_normal_client(edge, deltas)


async def test_no_metrics_token_no_metrics(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges(EDGE_METRICS_TOKEN="")
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/metrics", headers={"Authorization": "Bearer x"})).status_code == 404
    async with raw_client(edge) as client:
        assert (await client.subscribe("public-x"))["event"] == "pusher_internal:subscription_succeeded"


async def test_a_thousand_subscriptions_on_one_socket(edges: EdgeFactory, deltas: Deltas) -> None:
    # Answers queue up while the client is still sending: room for all 1,950 of them.
    edge = await edges(max_subscriptions="50", message_rate="10000", message_burst="2000", send_queue_max="5000")
    async with raw_client(edge) as client:
        for i in range(1000):
            await client.send("pusher:subscribe", {"channel": f"public-flood-{i}"})
        succeeded = refused = 0
        while succeeded + refused < 1000:
            frame = await client.recv(within=15, what=f"answer {succeeded + refused + 1} of 1000")
            if frame["event"] == "pusher_internal:subscription_succeeded":
                succeeded += 1
            elif frame["event"] == "pusher:error":
                assert "50 subscriptions" in frame["data"]["message"], frame
                refused += 1
                tail = await client.recv(what="the subscription_error")
                assert tail["event"] == "pusher:subscription_error", tail
        assert (succeeded, refused) == (50, 950)
        scraped = await edge.metric("edge_subscriptions")
        assert scraped == 50
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(f"{edge.base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text
        series = [line for line in text.splitlines() if line.startswith("edge_subscriptions{")]
        assert series == ['edge_subscriptions{channel="public"} 50.0'], series  # one series, not 50 (or 1,000)
        await client.send("pusher:unsubscribe", {"channel": "public-flood-0"})
        again = await client.subscribe("public-flood-999")
        assert again["event"] == "pusher_internal:subscription_succeeded", again
    await serves_a_normal_client(edge, deltas)


async def test_failed_authentications_are_rate_limited_per_address(
    edges: EdgeFactory, deltas: Deltas, tokens: dict[str, str]
) -> None:
    edge = await edges(auth_failure_rate="2", auth_failure_burst="10")
    async with raw_client(edge) as client, httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        body = {"socket_id": client.socket_id, "channel_name": "private-user.3"}
        statuses = []
        for i in range(40):
            answer = await http.post("/broadcasting/auth", data=body, headers={"Authorization": f"Bearer bogus-{i}"})
            statuses.append(answer.status_code)
        assert statuses[:10] == [401] * 10 and set(statuses[10:]) <= {401, 429} and statuses.count(429) >= 25
        blocked = await http.post(
            "/broadcasting/auth", data=body, headers={"Authorization": f"Bearer {tokens['viewer']}"}
        )
        assert blocked.status_code == 429 and "retry-after" in blocked.headers
        channel = "private-user.3"
        forged = await client.subscribe(channel, auth=private_auth(client.socket_id, channel, secret="guess"))
        assert forged["event"] == "pusher:error" and forged["data"]["code"] == 4301, forged
        deadline = time.monotonic() + 10  # the bucket refills (2 a second): the address is served again
        while True:
            answer = await http.post(
                "/broadcasting/auth", data=body, headers={"Authorization": f"Bearer {tokens['viewer']}"}
            )
            if answer.status_code == 200:
                break
            assert answer.status_code == 429 and time.monotonic() < deadline, answer.status_code
            await asyncio.sleep(0.2)
        assert json.loads(answer.text)["auth"]
    await serves_a_normal_client(edge, deltas)


async def test_api_tables_answers_are_not_sniffed_nor_cached(
    edges: EdgeFactory, deltas: Deltas, tokens: dict[str, str]
) -> None:
    edge = await edges()
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        for path, headers in (
            ("/api/tables", {}),
            ("/api/tables", {"Authorization": f"Bearer {tokens['admin']}"}),
            ("/api/tables/sales?from=9999-12-31", {"Authorization": f"Bearer {tokens['admin']}"}),
            ("/api/tables/nope", {"Authorization": f"Bearer {tokens['admin']}"}),
        ):
            answer = await http.get(path, headers=headers)
            assert answer.status_code < 500, (path, answer.status_code)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["cache-control"] == "no-store", path
    await serves_a_normal_client(edge, deltas)
