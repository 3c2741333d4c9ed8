"""`chinook-pulse tail TOPIC`: print a topic's records as they arrive, decoded.

Debezium envelopes print their op, source and row images; `chinook.deltas` records are read
with `schemas.messages.Delta`, the one decoder of a delta; anything else prints as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import jsonio
from schemas.kafka_meta import partitions_of
from schemas.messages import Delta, InvalidDelta
from schemas.settings import get_settings


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("tail", help="print a topic's records, decoded")
    parser.add_argument("topic", help="e.g. chinook.public.invoice or chinook.deltas")
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    parser.add_argument("--max", type=int, default=None, help="stop after this many records")
    parser.add_argument("--timeout", type=float, default=None, help="stop after this many idle seconds")
    parser.add_argument("--raw", action="store_true", help="print the value as stored, one line per record")
    parser.set_defaults(func=run)


def render(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    raw: bool,
    *,
    deltas: bool = False,
) -> str:
    """One record as text; `deltas`: the topic carries `Delta` records."""
    head = f"--- {topic}[{partition}]@{offset} key={key.decode('utf-8', 'replace') if key else None}"
    if value is None:
        return f"{head}\n(tombstone)"
    if raw:
        return f"{head}\n{value.decode('utf-8', 'replace')}"
    if deltas:
        try:
            delta = Delta.decode(value)
        except InvalidDelta as exc:
            return f"{head} (not a delta: {exc})\n{value!r}"
        summary = f"channel={delta.channel} event={delta.event} seq={delta.seq} ts_ms={delta.ts_ms}"
        return f"{head} {summary}\n{json.dumps(delta.data, indent=2, ensure_ascii=False)}"
    try:
        doc = jsonio.loads(value)
    except ValueError:
        return f"{head}\n{value!r}"
    if isinstance(doc, dict) and "payload" in doc and "schema" in doc:
        doc = doc["payload"]  # the envelope without its schema, which says nothing a reader needs
    if isinstance(doc, dict) and "op" in doc and "source" in doc:
        src = doc.get("source") or {}
        summary = f"op={doc.get('op')} table={src.get('table')} lsn={src.get('lsn')} txId={src.get('txId')}"
        body = {k: doc.get(k) for k in ("before", "after")}
        return f"{head} {summary}\n{json.dumps(body, indent=2, ensure_ascii=False)}"
    return f"{head}\n{json.dumps(doc, indent=2, ensure_ascii=False)}"


async def tail(args: argparse.Namespace) -> int:
    settings = get_settings()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        if args.topic not in await consumer.topics():
            print(f"error: unknown topic {args.topic!r}", file=sys.stderr)
            return 2
        partitions = await partitions_of(consumer, args.topic)
        tps = [TopicPartition(args.topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        if args.from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        deltas = args.topic == settings.deltas_topic
        seen = 0
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while args.max is None or seen < args.max:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                if args.timeout is not None and loop.time() - idle_since > args.timeout:
                    break
                continue
            idle_since = loop.time()
            for tp, records in batch.items():
                for r in records:
                    text = render(tp.topic, tp.partition, r.offset, r.key, r.value, args.raw, deltas=deltas)
                    print(text, flush=True)
                    seen += 1
        return 0
    finally:
        await consumer.stop()


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(tail(args))
    except KeyboardInterrupt:
        return 0
