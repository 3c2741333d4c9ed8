"""The Pusher HTTP API of a real edge through the official `pusher` package, and token revocation."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from typing import Any

import httpx
import pusher
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from api.signing import sign_request
from schemas.settings import PROJECT_ROOT, Settings
from tests.support.edges import APP_ID, KEY, SECRET, EdgeFactory, cli, official, raw_client
from tests.support.kafka import RawTail

pytestmark = pytest.mark.integration

TRIGGERS_TOPIC = "chinook.deltas.in"


async def ensure_topic(settings: Settings, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await asyncio.wait_for(admin.start(), 30)
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await asyncio.wait_for(
                admin.create_topics([NewTopic(topic, settings.topic_partitions, replication_factor=1)]), 30
            )
    finally:
        await admin.close()


async def test_trigger_goes_to_the_triggers_topic(edges: EdgeFactory, kafka_ok: Settings) -> None:
    await ensure_topic(kafka_ok, TRIGGERS_TOPIC)
    tail = await RawTail(kafka_ok.kafka_bootstrap, TRIGGERS_TOPIC).start()
    try:
        await _trigger_and_check(edges, tail)
    finally:
        await tail.stop()


async def _trigger_and_check(edges: EdgeFactory, tail: RawTail) -> None:
    edge = await edges(triggers_topic=TRIGGERS_TOPIC)
    marker = f"it-{time.time_ns()}"
    client = official(edge)
    await asyncio.to_thread(
        client.trigger, ["private-admin.sales", "presence-dashboard"], "Announce", {"marker": marker}, "12.34"
    )
    await asyncio.to_thread(client.trigger_batch, [{"channel": "public-x", "name": "B", "data": {"marker": marker}}])
    got: dict[str, Any] = {}
    for _ in range(3):
        key, value = await tail.next_where(
            lambda k, v: isinstance(v, dict) and isinstance(v.get("data"), dict) and v["data"].get("marker") == marker,
            within=30,
            what=f"a trigger carrying {marker}",
        )
        assert key.decode() == value["channel"]  # keyed by channel name
        got[value["channel"]] = value
    assert set(got) == {"private-admin.sales", "presence-dashboard", "public-x"}
    sales = got["private-admin.sales"]
    assert sales["event"] == "Announce" and sales["socket_id"] == "12.34" and isinstance(sales["ts_ms"], int)
    assert "seq" not in sales  # the worker's sequencer stamps it
    assert "socket_id" not in got["public-x"]


async def test_refused_http_calls(edges: EdgeFactory) -> None:
    edge = await edges()
    with pytest.raises(pusher.errors.PusherBadAuth):
        await asyncio.to_thread(official(edge, secret="wrong").trigger, "public-x", "E", {})
    body = b'{"name":"E","channels":["public-x"],"data":"{}"}'
    path = f"/apps/{APP_ID}/events"
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        stale = sign_request(KEY, SECRET, "POST", path, body, now=time.time() - 601)
        assert (await http.post(path, params=stale, content=body)).status_code == 401
        future = sign_request(KEY, SECRET, "POST", path, body, now=time.time() + 601)
        assert (await http.post(path, params=future, content=body)).status_code == 401
        tampered = sign_request(KEY, SECRET, "POST", path, body)
        assert (await http.post(path, params=tampered, content=body.replace(b"E", b"F"))).status_code == 401
        big = b'{"name":"E","channels":["public-x"],"data":"' + b"x" * 10_241 + b'"}'
        params = sign_request(KEY, SECRET, "POST", path, big)
        assert (await http.post(path, params=params, content=big)).status_code == 413


async def test_channel_queries_report_this_edge(edges: EdgeFactory, tokens: dict[str, str]) -> None:
    edge = await edges()
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http, raw_client(edge) as ws:
        answer = await http.post(
            "/broadcasting/auth",
            data={"socket_id": ws.socket_id, "channel_name": "presence-dashboard"},
            headers={"Authorization": f"Bearer {tokens['analyst']}"},
        )
        assert answer.status_code == 200
        ok = await ws.subscribe("presence-dashboard", **answer.json())
        assert ok["data"]["presence"]["hash"] == {"2": {"name": "Ana Analyst"}}
        client = official(edge)
        info = await asyncio.to_thread(client.channel_info, "presence-dashboard", ["user_count", "subscription_count"])
        assert info == {"occupied": True, "user_count": 1, "subscription_count": 1}
        listed = await asyncio.to_thread(client.channels_info, "presence-", ["user_count"])
        assert listed == {"channels": {"presence-dashboard": {"user_count": 1}}}
        assert await asyncio.to_thread(client.users_info, "presence-dashboard") == {"users": [{"id": "2"}]}


async def test_revoked_token_is_refused(edges: EdgeFactory, engine: Any) -> None:
    edge = await edges()
    issued = await asyncio.to_thread(
        subprocess.run,
        [*cli(), "users", "token", "admin@chinook.test", "--label", "revocation test"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )
    token = issued.stdout.strip().splitlines()[-1]
    body = {"socket_id": "1.2", "channel_name": "private-admin.sales"}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        assert (await http.post("/broadcasting/auth", data=body, headers=headers)).status_code == 200
        revoked = await asyncio.to_thread(
            subprocess.run,
            [*cli(), "users", "revoke", "--token-stdin"],
            input=token + "\n",
            text=True,
            capture_output=True,
            timeout=60,
        )
        assert revoked.returncode == 0, revoked.stderr
        assert (await http.post("/broadcasting/auth", data=body, headers=headers)).status_code == 401
