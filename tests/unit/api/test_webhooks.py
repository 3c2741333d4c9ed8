"""The cluster's occupancy as each edge computes it from the bus, and webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
import json

import pusher

from api.bus import LocalBus
from api.metrics import Metrics
from api.webhooks import OCCUPANCY, Webhooks, signature
from schemas.settings import EdgeSettings, Settings


def webhooks(**config: object) -> Webhooks:
    settings = Settings(pusher_app_key="k", pusher_app_secret="s", edge=EdgeSettings(consume=False, **config))
    return Webhooks(settings, LocalBus(), Metrics())


def occupancy(edge: str, key: list[str], on: bool) -> dict[str, object]:
    return {"type": OCCUPANCY, "edge": edge, "key": key, "on": on}


def test_only_the_edge_that_changes_the_cluster_state_sends() -> None:
    mine, other = webhooks(), "other-edge"
    mine.bus.dispatch(occupancy(other, ["channel", "presence-x"], True))  # type: ignore[attr-defined]
    mine.bus.dispatch(occupancy(mine.edge_id, ["channel", "presence-x"], True))  # type: ignore[attr-defined]
    assert list(mine._pending) == []  # occupied already, by the other edge
    mine.bus.dispatch(occupancy(other, ["channel", "presence-x"], False))  # type: ignore[attr-defined]
    mine.bus.dispatch(occupancy(mine.edge_id, ["member", "presence-x", "7"], True))  # type: ignore[attr-defined]
    mine.bus.dispatch(occupancy(mine.edge_id, ["channel", "presence-x"], False))  # type: ignore[attr-defined]
    assert list(mine._pending) == [
        {"name": "member_added", "channel": "presence-x", "user_id": "7"},
        {"name": "channel_vacated", "channel": "presence-x"},
    ]


def test_bad_bus_messages_are_ignored() -> None:
    mine = webhooks()
    for bad in (["channel"], ["member", "x"], ["other", "x"], [1, 2]):
        mine.bus.dispatch(occupancy(mine.edge_id, bad, True))  # type: ignore[arg-type, attr-defined]
    assert list(mine._pending) == [] and mine.holders == {}


def test_bounded_queue_drops_and_counts() -> None:
    mine = webhooks(webhook_queue_max=2)
    for n in range(3):
        mine.client_event("private-x", "client-e", {"n": n}, "1.1")
    assert len(mine._pending) == 2
    assert mine.metrics.value("edge_webhook_events_dropped_total", reason="queue_full") == 1


def test_signature_validates_with_the_sdk() -> None:
    body = webhooks().body([{"name": "channel_occupied", "channel": "c"}])
    assert json.loads(body)["events"] == [{"name": "channel_occupied", "channel": "c"}]
    assert signature("s", body) == hmac.new(b"s", body, hashlib.sha256).hexdigest()
    sdk = pusher.Pusher(app_id="1", key="k", secret="s")
    assert sdk.validate_webhook("k", signature("s", body), body.decode()) is not None
