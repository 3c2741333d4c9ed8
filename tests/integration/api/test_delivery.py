"""api/delivery.py against real Kafka: an edge whose deltas topic does not exist yet."""

from __future__ import annotations

import contextlib
import uuid

import httpx

from schemas.settings import Settings
from tests.support.edges import EdgeFactory
from tests.support.kafka import create_topic, delete_topic, open_deltas


async def test_an_edge_is_ready_before_its_topic_exists_and_reads_it_once_it_does(
    edges: EdgeFactory, kafka_ok: Settings
) -> None:
    topic = f"chinook.deltas.it-late-{uuid.uuid4().hex[:12]}"
    edge = await edges(topic=topic)  # start() returns only once /readyz answers 200
    async with httpx.AsyncClient(timeout=5) as client:
        status = (await client.get(f"{edge.base}/readyz")).status_code
    assert status == 200
    try:
        await create_topic(kafka_ok.kafka_bootstrap, topic)
        async with open_deltas(kafka_ok.kafka_bootstrap, topic) as deltas:
            await deltas.send("private-admin.sales", "SalesUpdated", {"total": "1.00"})
        await edge.wait_consumed(1, within=60)
    finally:
        with contextlib.suppress(Exception):
            await delete_topic(kafka_ok.kafka_bootstrap, topic)
