"""Median time from COMMIT to the change being readable from its Kafka topic.

    .venv/bin/python -m bench.commit_to_topic [--count 100]

Needs the running stack (`chinook-pulse up --only postgres,kafka,connect`). Each of `count`
sequential INSERTs into `invoice` is committed, then the Debezium record of that invoice is awaited
on `chinook.public.invoice` (consumer positioned at the end beforehand, fetch wait 5 ms). The clock
starts right before COMMIT is sent and stops when the record is handed to the consumer, so the
figure includes the commit's own round trip, Debezium's poll interval, the producer linger and the
consumer's fetch. Inserted rows are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import Engine, create_engine, delete, func, insert, select

from schemas.settings import Settings, get_settings
from tables.models import customer, invoice


def _json(raw: bytes | None) -> Any:
    return None if raw is None else json.loads(raw)


async def _consumer(settings: Settings, topic: str, wait_s: float) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=5,
        key_deserializer=_json,
        value_deserializer=_json,
    )
    await consumer.start()
    deadline = time.monotonic() + wait_s
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {wait_s:.0f}s waiting for topic {topic}")
        await consumer.getmany(timeout_ms=200)
    partitions = list(consumer.assignment())
    await consumer.seek_to_end(*partitions)
    for tp in partitions:
        await consumer.position(tp)
    return consumer


async def _wait_for(consumer: AIOKafkaConsumer, invoice_id: int, wait_s: float) -> float:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=100)
        for messages in batches.values():
            for message in messages:
                if message.key == {"invoice_id": invoice_id} and message.value and message.value["op"] == "c":
                    return time.perf_counter()
    raise SystemExit(f"timed out after {wait_s:.0f}s waiting for invoice {invoice_id} on its topic")


async def measure(settings: Settings, engine: Engine, count: int, wait_s: float) -> list[float]:
    topic = settings.cdc_topic("invoice")
    consumer = await _consumer(settings, topic, wait_s)
    latencies: list[float] = []
    created: list[int] = []
    try:
        with engine.connect() as conn:
            customer_id = conn.execute(select(func.min(customer.c.customer_id))).scalar_one()
            for _ in range(count):
                invoice_id = conn.execute(
                    insert(invoice)
                    .values(
                        customer_id=customer_id,
                        invoice_date=datetime.now(UTC).replace(tzinfo=None),
                        billing_country="Benchland",
                        total=Decimal("0.99"),
                    )
                    .returning(invoice.c.invoice_id)
                ).scalar_one()
                created.append(invoice_id)
                began = time.perf_counter()
                conn.commit()
                latencies.append((await _wait_for(consumer, invoice_id, wait_s)) - began)
    finally:
        await consumer.stop()
        with engine.begin() as conn:
            conn.execute(delete(invoice).where(invoice.c.invoice_id.in_(created)))
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100, help="inserts to time (default 100)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for one record")
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = create_engine(settings.sqlalchemy_url, connect_args={"connect_timeout": 5})
    latencies = asyncio.run(measure(settings, engine, args.count, args.timeout))
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(
        f"commit->topic over {len(ms)} inserts: median {statistics.median(ms):.1f} ms, "
        f"p95 {p95:.1f} ms, min {ms[0]:.1f} ms, max {ms[-1]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
