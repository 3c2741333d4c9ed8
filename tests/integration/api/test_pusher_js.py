"""The real pusher-js (npm, under Node) against a real edge, Kafka and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.edges import Deltas, EdgeFactory, NodeDriver

pytestmark = pytest.mark.integration


async def test_private_channel_through_broadcasting_auth(
    edges: EdgeFactory, deltas: Deltas, node: NodeDriver, tokens: dict[str, str]
) -> None:
    edge = await edges()
    await node.connect("admin", edge, tokens["admin"])
    await node.send(op="subscribe", client="admin", channel="private-admin.invoices")
    await node.expect(
        lambda r: r.get("type") == "subscribed" and r.get("client") == "admin", within=15, what="admin subscribed"
    )
    for n in range(1, 4):
        await deltas.send("private-admin.invoices", "InvoiceCreated", {"invoice_id": n, "total": f"{n}.99"})
    got = await node.events("admin", "private-admin.invoices", 3, within=15)
    assert [(e["event"], e["data"]) for e in got] == [
        ("InvoiceCreated", {"invoice_id": n, "total": f"{n}.99", "seq": n}) for n in range(1, 4)
    ]


async def test_refusals_reach_pusher_js_and_nothing_is_delivered(
    edges: EdgeFactory, deltas: Deltas, node: NodeDriver, tokens: dict[str, str]
) -> None:
    edge = await edges()
    await node.connect("viewer", edge, tokens["viewer"])
    await node.connect("admin", edge, tokens["admin"])
    cases = [("private-admin.sales", 403), ("private-user.1", 403)]  # admin is user 1, viewer is user 3
    for channel, status in cases:
        await node.send(op="subscribe", client="viewer", channel=channel)
        refused = await node.expect(
            lambda r, c=channel: r.get("client") == "viewer" and r.get("channel") == c and r.get("type") != "ack",
            within=15,
            what=f"viewer's answer on {channel}",
        )
        assert refused["type"] == "subscription_error" and refused["data"]["status"] == status, refused
    await node.send(op="subscribe", client="viewer", channel="private-user.3")  # its own channel
    await node.expect(lambda r: r.get("type") == "subscribed" and r.get("client") == "viewer", within=15, what="ok")
    await node.send(op="subscribe", client="admin", channel="private-admin.sales")
    await node.expect(lambda r: r.get("type") == "subscribed" and r.get("client") == "admin", within=15, what="ok")
    await deltas.send("private-admin.sales", "SalesUpdated", {"total": "10.00"})
    await deltas.send("private-user.1", "Notice", {})
    await deltas.send("private-user.3", "Notice", {"for": "viewer"})
    await node.events("admin", "private-admin.sales", 1, within=15)
    mine = await node.events("viewer", "private-user.3", 1, within=15)
    assert mine[0]["data"] == {"for": "viewer", "seq": 1}
    assert node.pending("viewer", "event") == []  # nothing from the refused channels


async def test_presence_members(edges: EdgeFactory, node: NodeDriver, tokens: dict[str, str]) -> None:
    edge = await edges()
    await node.connect("admin", edge, tokens["admin"])
    await node.send(op="subscribe", client="admin", channel="presence-dashboard")
    first = await node.expect(
        lambda r: r.get("type") == "subscribed" and r.get("client") == "admin", within=15, what="admin in presence"
    )
    assert first["data"]["count"] == 1 and first["data"]["me"]["info"] == {"name": "Ada Admin"}
    await node.connect("viewer", edge, tokens["viewer"])
    await node.send(op="subscribe", client="viewer", channel="presence-dashboard")
    second = await node.expect(
        lambda r: r.get("type") == "subscribed" and r.get("client") == "viewer", within=15, what="viewer in presence"
    )
    assert second["data"]["count"] == 2
    added = await node.expect(
        lambda r: r.get("type") == "member_added" and r.get("client") == "admin", within=15, what="member_added"
    )
    assert added["member"] == {"id": "3", "info": {"name": "Vic Viewer"}}
    await node.send(op="disconnect", client="viewer")
    removed = await node.expect(
        lambda r: r.get("type") == "member_removed" and r.get("client") == "admin", within=15, what="member_removed"
    )
    assert removed["member"]["id"] == "3"


async def test_cache_channel_snapshot(edges: EdgeFactory, deltas: Deltas, node: NodeDriver) -> None:
    edge = await edges()
    await node.connect("early", edge)
    await node.send(op="subscribe", client="early", channel="cache-admin-totals")
    await node.expect(lambda r: r.get("type") == "cache_miss", within=15, what="pusher:cache_miss")
    await deltas.send("cache-admin-totals", "Totals", {"n": 1})
    await deltas.send("cache-admin-totals", "Totals", {"n": 2})
    await node.events("early", "cache-admin-totals", 2, within=15)
    await node.connect("late", edge)
    await node.send(op="subscribe", client="late", channel="cache-admin-totals")
    last = await node.events("late", "cache-admin-totals", 1, within=15)
    assert last[0]["data"] == {"n": 2, "seq": 2}


async def test_private_and_presence_cache_channels(
    edges: EdgeFactory, deltas: Deltas, node: NodeDriver, tokens: dict[str, str]
) -> None:
    edge = await edges()
    await node.connect("early", edge, tokens["admin"])
    for channel in ("private-cache-admin.totals", "presence-cache-dashboard"):
        await node.send(op="subscribe", client="early", channel=channel)
        await node.expect(
            lambda r, c=channel: r.get("type") == "cache_miss" and r.get("channel") == c,
            within=15,
            what=f"pusher:cache_miss on {channel}",
        )
        await deltas.send(channel, "Totals", {"total": "1.00"})
        await deltas.send(channel, "Totals", {"total": "2.00"})
        await node.events("early", channel, 2, within=15)
    await node.connect("late", edge, tokens["viewer"])
    await node.send(op="subscribe", client="late", channel="private-cache-admin.totals")
    refused = await node.expect(
        lambda r: r.get("client") == "late" and r.get("type") == "subscription_error", within=15, what="refusal"
    )
    assert refused["data"]["status"] == 403  # the viewer may not see private-admin.*, cached or not
    await node.send(op="subscribe", client="late", channel="presence-cache-dashboard")
    last = await node.events("late", "presence-cache-dashboard", 1, within=15)
    assert last[0]["data"] == {"total": "2.00", "seq": 2}
