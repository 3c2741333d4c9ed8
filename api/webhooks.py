"""Pusher webhooks: channel_occupied/vacated, member_added/removed and client_event, for all edges.

Bodies are Pusher's ``{"time_ms": ..., "events": [...]}``, POSTed to every ``EDGE_WEBHOOK_URLS``
entry with ``X-Pusher-Key`` and ``X-Pusher-Signature`` (hex HMAC-SHA256 of the body with the app
secret). Off when no URL is set.

A channel is occupied while any edge has a subscriber, a member present while any edge has one of
its sockets. Each edge publishes its own changes (``{edge, key, on}``) to the edge bus; the bus has
one order that every edge reads, so all agree on when a key goes from no edge to some edge and back,
and only the edge whose message made that change sends the webhook: each is sent once. An edge that
starts asks the others (``hello``) to announce what they hold. An edge that dies without saying so
leaves its channels occupied until it comes back (its successor does not share its id).

Delivery is at least once: events wait in a bounded queue (dropped and counted beyond it), go out
in batches, and a batch that fails is retried with backoff up to ``EDGE_WEBHOOK_ATTEMPTS`` times.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import deque
from typing import Any

import httpx

from api.bus import Bus, BusUnavailable
from api.metrics import Metrics
from schemas.settings import Settings

log = logging.getLogger(__name__)

OCCUPANCY = "occupancy"
HELLO = "hello"
Key = tuple[str, ...]  # ("channel", name) or ("member", channel, user_id)


def signature(secret: str, body: bytes) -> str:
    """``X-Pusher-Signature``: hex HMAC-SHA256 of the body keyed with the app secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _event(key: Key, on: bool) -> dict[str, Any]:
    if key[0] == "channel":
        return {"name": "channel_occupied" if on else "channel_vacated", "channel": key[1]}
    return {"name": "member_added" if on else "member_removed", "channel": key[1], "user_id": key[2]}


class Webhooks:
    """This edge's part: announce local changes, keep the cluster's view, send what it must."""

    def __init__(self, settings: Settings, bus: Bus, metrics: Metrics) -> None:
        self.settings = settings
        self.config = settings.edge
        self.bus = bus
        self.metrics = metrics
        self.edge_id = secrets.token_hex(8)
        self.local: set[Key] = set()  # what this edge holds now
        self.holders: dict[Key, set[str]] = {}  # the cluster's view, from the bus
        self._announce: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pending: deque[dict[str, Any]] = deque()
        self._wakeup = asyncio.Event()
        self._inflight = 0
        self._stopping = False
        bus.on(OCCUPANCY, self._on_occupancy)
        bus.on(HELLO, self._on_hello)

    # -- what this edge sees ---------------------------------------------------------------
    def changed(self, key: Key, on: bool) -> None:
        """A channel (or member) appeared on or left this edge; the cluster decides if it is news."""
        if key[1].startswith("#") or self._stopping:
            return  # user channels have no webhooks; a stopping edge says goodbye in `stop`
        (self.local.add if on else self.local.discard)(key)
        self._announce.put_nowait({"type": OCCUPANCY, "edge": self.edge_id, "key": list(key), "on": on})

    def client_event(self, channel: str, event: str, data: Any, socket_id: str, user_id: Any = None) -> None:
        item: dict[str, Any] = {
            "name": "client_event",
            "channel": channel,
            "event": event,
            "data": data if isinstance(data, str) else json.dumps(data, separators=(",", ":")),
            "socket_id": socket_id,
        }
        if user_id is not None:
            item["user_id"] = str(user_id)
        self._enqueue(item)

    # -- the bus ---------------------------------------------------------------------------
    def _on_occupancy(self, message: dict[str, Any]) -> None:
        edge, raw, on = message.get("edge"), message.get("key"), message.get("on")
        if not isinstance(edge, str) or not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
            return
        key: Key = tuple(raw)
        if key[0] not in ("channel", "member") or len(key) != (2 if key[0] == "channel" else 3):
            return
        holders = self.holders.setdefault(key, set())
        before = bool(holders)
        (holders.add if on else holders.discard)(edge)
        after = bool(holders)
        if not holders:
            del self.holders[key]
        if before != after and edge == self.edge_id:
            self._enqueue(_event(key, after))

    def _on_hello(self, message: dict[str, Any]) -> None:
        if message.get("edge") != self.edge_id:
            for key in sorted(self.local):
                self._announce.put_nowait({"type": OCCUPANCY, "edge": self.edge_id, "key": list(key), "on": True})

    async def run_announcer(self) -> None:
        """Publish this edge's changes to the bus in the order they happened."""
        await self.bus.ready.wait()
        await self.bus.publish({"type": HELLO, "edge": self.edge_id})
        while True:
            message = await self._announce.get()
            while True:
                try:
                    await self.bus.publish(message)
                    break
                except BusUnavailable:
                    await asyncio.sleep(1.0)

    async def stop(self, within: float = 5.0) -> None:
        """Say that this edge holds nothing any more and send what follows, waiting at most ``within`` s."""
        deadline = time.monotonic() + within
        self._stopping = True
        goodbye = [{"type": OCCUPANCY, "edge": self.edge_id, "key": list(k), "on": False} for k in sorted(self.local)]
        self.local.clear()
        queued = []
        while not self._announce.empty():
            queued.append(self._announce.get_nowait())
        try:
            for message in [*queued, *goodbye]:
                await asyncio.wait_for(self.bus.publish(message), max(0.1, deadline - time.monotonic()))
        except (BusUnavailable, TimeoutError):
            log.warning("webhooks: could not tell the other edges this edge is leaving")
            return
        while time.monotonic() < deadline:
            mine = any(self.edge_id in holders for holders in self.holders.values())
            if not mine and not self._pending and not self._inflight:
                return
            await asyncio.sleep(0.05)

    # -- sending ---------------------------------------------------------------------------
    def _enqueue(self, event: dict[str, Any]) -> None:
        if len(self._pending) >= self.config.webhook_queue_max:
            self.metrics.inc("edge_webhook_events_dropped_total", reason="queue_full")
            return
        self._pending.append(event)
        self._wakeup.set()

    def body(self, events: list[dict[str, Any]], now_ms: int | None = None) -> bytes:
        time_ms = int(time.time() * 1000) if now_ms is None else now_ms
        return json.dumps({"time_ms": time_ms, "events": events}, separators=(",", ":")).encode()

    async def run_sender(self) -> None:
        """Batch queued events (up to ``webhook_batch_max``, after ``webhook_batch_delay``) and POST them."""
        async with httpx.AsyncClient(timeout=self.config.webhook_timeout) as client:
            while True:
                await self._wakeup.wait()
                await asyncio.sleep(self.config.webhook_batch_delay)
                batch = [self._pending.popleft() for _ in range(min(len(self._pending), self.config.webhook_batch_max))]
                if not self._pending:
                    self._wakeup.clear()
                if batch:
                    self._inflight += 1
                    try:
                        await asyncio.gather(*(self._deliver(client, url, batch) for url in self.config.webhook_urls))
                    finally:
                        self._inflight -= 1

    async def _deliver(self, client: httpx.AsyncClient, url: str, batch: list[dict[str, Any]]) -> None:
        delay = 0.5
        for attempt in range(1, self.config.webhook_attempts + 1):
            body = self.body(batch)  # a fresh time_ms: receivers refuse old ones
            headers = {
                "Content-Type": "application/json",
                "X-Pusher-Key": self.settings.pusher_app_key,
                "X-Pusher-Signature": signature(self.settings.pusher_app_secret, body),
            }
            try:
                response = await client.post(url, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    self.metrics.inc("edge_webhook_events_sent_total", float(len(batch)))
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            self.metrics.inc("edge_webhook_failures_total")
            log.warning("webhook to %s failed (%s), attempt %d", url, reason, attempt)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
        self.metrics.inc("edge_webhook_events_dropped_total", float(len(batch)), reason="attempts")
