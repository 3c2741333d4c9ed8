"""User authentication and user events with the real clients: pusher-js `signin()` against
/broadcasting/user-auth, and the official `pusher` SDK's `send_to_user` through another edge."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.edges import EdgeFactory, NodeDriver, official

pytestmark = pytest.mark.integration


async def test_signin_and_send_to_user_across_edges(
    edges: EdgeFactory, node: NodeDriver, tokens: dict[str, str]
) -> None:
    a = await edges("a")
    b = await edges("b")
    await node.connect("viewer", b, tokens["viewer"])
    await node.connect("admin", a, tokens["admin"])
    for client in ("viewer", "admin"):
        await node.send(op="signin", client=client)
        done = await node.expect(
            lambda r, c=client: r.get("client") == c and r.get("type") == "signin_success", within=15, what="signin"
        )
        assert set(done["data"]) == {"user_data"}
        await node.expect(
            lambda r, c=client: r.get("client") == c and r.get("type") == "user_channel_subscribed",
            within=15,
            what=f"{client} on its #server-to-user channel",
        )
    # The viewer (user 3) is on edge b; the SDK calls edge a.
    await asyncio.to_thread(official(a).send_to_user, "3", "Notice", {"total": "12.50", "for": "viewer"})
    got = await node.expect(
        lambda r: r.get("client") == "viewer" and r.get("type") == "user_event", within=15, what="the user event"
    )
    assert got["event"] == "Notice" and got["data"] == {"total": "12.50", "for": "viewer"}
    await asyncio.to_thread(official(b).send_to_user, "1", "ForAdmin", {"n": 1})
    admin = await node.expect(
        lambda r: r.get("client") == "admin" and r.get("type") == "user_event", within=15, what="the admin's event"
    )
    assert admin["event"] == "ForAdmin"
    assert node.pending("viewer", "user_event") == []  # nobody gets another user's events
