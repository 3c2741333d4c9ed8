"""Cutting a user off: close every connection of a user, on this edge and, through Kafka, on all.

One rule: once a user is cut off (their token revoked, or `terminate_connections` called), none of
their open connections keeps receiving; each is closed with 4009 within seconds.

- `terminate_user(edge, user_id)` closes this edge's connections of the user now.
- `ControlSink.terminate(user_id)` puts the order on ``EDGE_CONTROL_TOPIC``; `ControlConsumer`
  (one per edge, every partition, from the end) applies each order with `terminate_user`.
- `RevocationWatch` checks every ``EDGE_REVOCATION_POLL`` seconds that the tokens the edge's
  connections were authorized with are still valid, and cuts off those whose token is not.

A connection belongs to a user once it subscribed with a signature `/broadcasting/auth` gave that
user (`Grants`), or joined a presence channel as that user (`bind`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from api.connection import Connection
from api.protocol import ErrorCode
from api.retry import retry_forever
from api.tail import edge_consumer, follow_from_end

if TYPE_CHECKING:  # api.state holds the Grants of this module
    from api.state import Edge

log = logging.getLogger(__name__)

TERMINATE = "terminate_connections"
REASON = "Connection terminated: the user was signed out"


def bind(conn: Connection, user_id: str, token_hash: str | None = None) -> None:
    """Record that `conn` acts for `user_id` (authorized with the token of sha256 `token_hash`)."""
    conn.user_id = str(user_id)
    if token_hash is not None:
        conn.token_hashes = conn.token_hashes | {token_hash}


def terminate_user(edge: Edge, user_id: str, reason: str = "terminated") -> int:
    """Close (4009) every connection of this edge that acts for `user_id`; the number closed."""
    closed = 0
    for conn in list(edge.connections.values()):
        if conn.user_id == str(user_id) and conn.open:
            edge.registry.unsubscribe_all(conn)  # nothing more reaches it, even before the close frame
            conn.close(ErrorCode.UNAUTHORIZED, REASON, flush=False)
            closed += 1
    if closed:
        edge.metrics.inc("edge_terminated_total", float(closed), reason=reason)
        log.info("closed %d connection(s) of user %s (%s)", closed, user_id, reason)
    return closed


def terminate_revoked(edge: Edge, revoked: set[str]) -> int:
    """Close every connection authorized with one of the `revoked` token hashes; the number closed."""
    users = {c.user_id for c in edge.connections.values() if c.user_id is not None and c.token_hashes & revoked}
    return sum(terminate_user(edge, user, "revoked") for user in users if user is not None)


@dataclass(frozen=True, slots=True)
class Grant:
    user_id: str
    token_hash: str


class Grants:
    """Signatures `/broadcasting/auth` gave, by (socket id, channel): who they were given to."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._grants: OrderedDict[tuple[str, str], Grant] = OrderedDict()

    def record(self, socket_id: str, channel: str, grant: Grant) -> None:
        self._grants[(socket_id, channel)] = grant
        self._grants.move_to_end((socket_id, channel))
        while len(self._grants) > self.max_entries:
            self._grants.popitem(last=False)

    def pop(self, socket_id: str, channel: str) -> Grant | None:
        return self._grants.pop((socket_id, channel), None)


def order(user_id: str) -> bytes:
    """The control record that cuts `user_id` off on every edge."""
    return json.dumps({"type": TERMINATE, "user_id": str(user_id)}, separators=(",", ":")).encode()


def apply_order(edge: Edge, value: bytes | None) -> None:
    """Apply one control record (unknown or malformed ones are skipped)."""
    try:
        doc: Any = json.loads(value or b"")
    except ValueError:
        return
    if isinstance(doc, dict) and doc.get("type") == TERMINATE and isinstance(doc.get("user_id"), str):
        terminate_user(edge, doc["user_id"], "terminate_connections")


async def ensure_control_topic(bootstrap: str, topic: str) -> None:
    """Create the control topic (one partition) unless it exists."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="chinook-pulse-edge")
    await admin.start()
    try:
        if topic not in set(await admin.list_topics()):
            with contextlib.suppress(TopicAlreadyExistsError):  # another edge was quicker
                await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


class Control(Protocol):
    """Where cut-off orders go: to every edge (`ControlSink`) or to this one only (`LocalControl`)."""

    async def terminate(self, user_id: str) -> None: ...


class LocalControl:
    """Applies orders to one edge directly (an edge that consumes no Kafka: unit tests)."""

    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    async def terminate(self, user_id: str) -> None:
        terminate_user(self.edge, user_id, "terminate_connections")


class ControlSink:
    """Produces cut-off orders to the control topic (every edge applies them)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._producer: Any = None

    async def terminate(self, user_id: str) -> None:
        if self._producer is None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", client_id="chinook-pulse-edge")
            await producer.start()
            self._producer = producer
        await self._producer.send_and_wait(self.topic, order(user_id), key=str(user_id).encode())

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


class ControlConsumer:
    """Every partition of the control topic from its end (no group); sets ``edge.control_ready``."""

    def __init__(self, edge: Edge, *, retry_delay: float = 1.0) -> None:
        self.edge = edge
        self.topic = edge.config.control_topic
        self.retry_delay = retry_delay

    async def run(self) -> None:
        await retry_forever(self._run_once, name="control consumer", delay=self.retry_delay)

    async def _run_once(self) -> None:
        bootstrap = self.edge.settings.kafka_bootstrap
        await ensure_control_topic(bootstrap, self.topic)
        consumer = edge_consumer(bootstrap)
        await consumer.start()
        try:
            await follow_from_end(consumer, self.topic, self.retry_delay)  # orders from here on are applied
            self.edge.control_ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for records in batches.values():
                    for record in records:
                        apply_order(self.edge, record.value)
        finally:
            await consumer.stop()


class RevocationWatch:
    """Every ``EDGE_REVOCATION_POLL`` seconds: cut off the connections whose token was revoked."""

    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    async def check(self) -> int:
        hashes = {h for c in self.edge.connections.values() for h in c.token_hashes}
        if not hashes:
            return 0
        revoked = await self.edge.tokens.revoked(hashes)
        return terminate_revoked(self.edge, revoked) if revoked else 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.edge.config.revocation_poll)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("revocation check failed (%s: %s)", type(exc).__name__, exc)
