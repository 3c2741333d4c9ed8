"""Webhooks from two real edges to a real HTTP receiver, each checked with the official `pusher`
SDK's `validate_webhook`: occupancy and membership are the cluster's (sent once, by one edge), a
refused delivery is retried (at least once)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pusher
import pytest

from api.signing import channel_auth
from tests.support.edges import APP_ID, KEY, SECRET, EdgeFactory, RawClient, raw_client

pytestmark = pytest.mark.integration

CHANNEL = "presence-dashboard"


class Receiver:
    """Records every webhook request; answers the first one with 503, the others with 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    status = 503 if not receiver.requests else 200
                    receiver.requests.append((status, dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/pusher/webhooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def accepted_events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for status, _, body in self.requests if status == 200 for e in json.loads(body)["events"]]

    async def wait_for(self, match: Any, *, within: float, what: str) -> None:
        deadline = time.monotonic() + within
        while not any(match(e) for e in self.accepted_events()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no webhook {what} in {within:.0f}s; got {self.accepted_events()}")
            await asyncio.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    started.thread.start()
    yield started
    started.server.shutdown()
    started.server.server_close()


async def join(client: RawClient, user_id: str) -> None:
    channel_data = json.dumps({"user_id": user_id, "user_info": {"name": f"user {user_id}"}})
    answer = await client.subscribe(
        CHANNEL, auth=channel_auth(KEY, SECRET, client.socket_id, CHANNEL, channel_data), channel_data=channel_data
    )
    assert answer["event"] == "pusher_internal:subscription_succeeded", answer


async def test_webhooks_from_two_edges(edges: EdgeFactory, receiver: Receiver) -> None:
    settings = {"webhook_urls": receiver.url, "client_events_channels": "presence-*", "webhook_batch_delay": "0.05"}
    a = await edges("a", **settings)
    b = await edges("b", **settings)
    name = lambda n, **kw: lambda e: e["name"] == n and all(e.get(k) == v for k, v in kw.items())  # noqa: E731
    async with raw_client(a) as on_a, raw_client(b) as on_b:
        await join(on_a, "1")
        await receiver.wait_for(name("member_added", user_id="1"), within=30, what="member_added 1")
        await join(on_b, "2")
        await receiver.wait_for(name("member_added", user_id="2"), within=30, what="member_added 2")
        await on_b.send("client-typing", {"typing": True}, channel=CHANNEL)
        await receiver.wait_for(name("client_event", user_id="2"), within=30, what="client_event")
        await on_a.send("pusher:unsubscribe", {"channel": CHANNEL})
        await receiver.wait_for(name("member_removed", user_id="1"), within=30, what="member_removed 1")
        await on_b.send("pusher:unsubscribe", {"channel": CHANNEL})
        await receiver.wait_for(name("channel_vacated"), within=30, what="channel_vacated")
        await receiver.wait_for(name("member_removed", user_id="2"), within=30, what="member_removed 2")

    events = receiver.accepted_events()
    counts: dict[str, int] = {}
    for event in events:
        counts[event["name"]] = counts.get(event["name"], 0) + 1
    # Occupied once although both edges had a subscriber; vacated once, when the last one left.
    assert counts == {
        "channel_occupied": 1,
        "member_added": 2,
        "client_event": 1,
        "member_removed": 2,
        "channel_vacated": 1,
    }, events
    names = [e["name"] for e in events]
    assert names.index("channel_occupied") < names.index("channel_vacated")
    client_event = next(e for e in events if e["name"] == "client_event")
    assert client_event == {
        "name": "client_event",
        "channel": CHANNEL,
        "event": "client-typing",
        "data": '{"typing":true}',
        "socket_id": on_b.socket_id,
        "user_id": "2",
    }
    # Every request validates with the official SDK; the refused first one was delivered again.
    sdk = pusher.Pusher(app_id=APP_ID, key=KEY, secret=SECRET)
    refused = [body for status, _, body in receiver.requests if status == 503]
    assert len(refused) == 1
    for _status, headers, body in receiver.requests:
        assert sdk.validate_webhook(headers["X-Pusher-Key"], headers["X-Pusher-Signature"], body.decode()) is not None
    assert all(e in events for e in json.loads(refused[0])["events"])
    forged = body.replace(b"presence-dashboard", b"presence-forged")
    assert sdk.validate_webhook(KEY, headers["X-Pusher-Signature"], forged.decode()) is None
