"""Encrypted channels end to end: the official `pusher` SDK encrypts a trigger, the worker sequences
it, the edge relays the ciphertext, and pusher-js (its bundled tweetnacl) decrypts it with the
shared secret from /broadcasting/auth."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets

import pusher
import pytest

from api.signing import channel_auth
from tests.support.edges import KEY, SECRET, EdgeFactory, NodeDriver, official, raw_client
from tests.support.workers import Isolation, Worker

pytestmark = pytest.mark.integration

CHANNEL = "private-encrypted-admin.sales"


async def test_sdk_encrypts_edge_relays_pusher_js_decrypts(
    edges: EdgeFactory,
    isolation: Isolation,
    worker: Worker,
    node: NodeDriver,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    master = base64.b64encode(secrets.token_bytes(32)).decode()
    monkeypatch.setenv("PUSHER_ENCRYPTION_MASTER_KEY", master)
    edge = await edges("a", topic=isolation.deltas_topic, triggers_topic=isolation.deltas_topic + ".in")
    await node.connect("admin", edge, tokens["admin"])
    await node.send(op="subscribe", client="admin", channel=CHANNEL)
    await node.expect(lambda r: r.get("type") == "subscribed", within=15, what="admin on the encrypted channel")
    async with raw_client(edge) as raw:
        answer = await raw.subscribe(CHANNEL, auth=channel_auth(KEY, SECRET, raw.socket_id, CHANNEL))
        assert answer["event"] == "pusher_internal:subscription_succeeded", answer
        sdk = official(edge, encryption_master_key_base64=master)
        await asyncio.to_thread(sdk.trigger, CHANNEL, "SalesUpdated", {"total": "123.45", "currency": "USD"})
        got = await node.events("admin", CHANNEL, 1, within=60)
        assert got[0]["event"] == "SalesUpdated" and got[0]["data"] == {"total": "123.45", "currency": "USD"}
        relayed = await raw.recv(within=30, what="the encrypted event on a raw socket")
    # What crossed the edge is the SDK's ciphertext (plus the worker's seq), never the plaintext.
    assert {"nonce", "ciphertext"} <= set(relayed["data"]) and relayed["data"]["seq"] == 1
    assert "123.45" not in json.dumps(relayed)


async def test_without_the_key_encrypted_channels_are_refused(
    edges: EdgeFactory, node: NodeDriver, tokens: dict[str, str]
) -> None:
    edge = await edges()
    await node.connect("admin", edge, tokens["admin"])
    await node.send(op="subscribe", client="admin", channel=CHANNEL)
    refused = await node.expect(
        lambda r: r.get("type") == "subscription_error", within=15, what="the refused encrypted subscription"
    )
    assert refused["data"]["status"] == 403
    sdk = official(edge, encryption_master_key_base64=base64.b64encode(b"k" * 32).decode())
    with pytest.raises(pusher.errors.PusherBadRequest):
        await asyncio.to_thread(sdk.trigger, CHANNEL, "E", {"x": 1})
