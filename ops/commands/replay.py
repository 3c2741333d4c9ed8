"""`chinook-pulse replay TOPIC`: copy a topic's records between two offsets or two instants, per partition.

Records keep their key, value, headers and timestamp, and their partition number when the target
has it (else the key picks one). `--to` the worker's own input topic (e.g. chinook.public.invoice)
feeds the records back through the worker: its state is absolute and versioned, so a record it
has already seen changes nothing. `--dry-run` only counts.

Offsets: `--from-offset`/`--to-offset` take `N` (every partition) or `P:N,P:N`; the range is
[from, to). Instants: `--from-time`/`--to-time` (ISO 8601, UTC when no offset) select the records
whose timestamp lies in [from, to).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from ops.kafka_io import OpsError, consumer, producer, read_range, topic_partitions
from ops.progress import bar
from schemas.settings import get_settings


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay", help="copy a topic's records between offsets or instants to a target topic"
    )
    parser.add_argument("topic")
    parser.add_argument("--to", dest="target", help="target topic (required unless --dry-run)")
    parser.add_argument("--from-offset", metavar="N|P:N,...", help="first offset (inclusive); default: the beginning")
    parser.add_argument("--to-offset", metavar="N|P:N,...", help="last offset (exclusive); default: the end now")
    parser.add_argument("--from-time", metavar="ISO", help="first instant (inclusive)")
    parser.add_argument("--to-time", metavar="ISO", help="last instant (exclusive)")
    parser.add_argument("--partitions", metavar="P,P", help="only these partitions")
    parser.add_argument("--dry-run", action="store_true", help="count the records per partition, copy nothing")
    parser.set_defaults(func=run)


@dataclass
class Span:
    tp: TopicPartition
    start: int
    end: int
    count: int  # records in range (exact: scanned when instants select them)


def offsets_spec(text: str | None, partitions: list[int], name: str) -> dict[int, int]:
    """`N` (every partition) or `P:N,P:N` (those partitions) as {partition: offset}."""
    if text is None:
        return {}
    try:
        if ":" not in text:
            return dict.fromkeys(partitions, int(text))
        out = {int(p): int(o) for p, o in (item.split(":") for item in text.split(","))}
    except ValueError:
        raise OpsError(f"{name} must be N or P:N,P:N, got {text!r}") from None
    unknown = sorted(set(out) - set(partitions))
    if unknown:
        raise OpsError(f"{name} names partitions the topic does not have: {unknown}")
    return out


def instant_ms(text: str, name: str) -> int:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise OpsError(f"{name} must be ISO 8601, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


async def plan(c: AIOKafkaConsumer, args: argparse.Namespace) -> tuple[list[Span], tuple[int, int] | None]:
    tps = await topic_partitions(c, args.topic)
    if args.partitions:
        wanted = {int(p) for p in args.partitions.split(",")}
        missing = sorted(wanted - {tp.partition for tp in tps})
        if missing:
            raise OpsError(f"{args.topic} has no partition(s) {missing}")
        tps = [tp for tp in tps if tp.partition in wanted]
    begin, end = await c.beginning_offsets(tps), await c.end_offsets(tps)
    if (args.from_time or args.to_time) and (args.from_offset or args.to_offset):
        raise OpsError("give offsets or instants, not both")
    window: tuple[int, int] | None = None
    starts, ends = dict(begin), dict(end)
    if args.from_time or args.to_time:
        lo = instant_ms(args.from_time, "--from-time") if args.from_time else 0
        hi = instant_ms(args.to_time, "--to-time") if args.to_time else 2**62
        if hi <= lo:
            raise OpsError("the time range is empty: --to-time must be after --from-time")
        window = (lo, hi)
        found_lo = await c.offsets_for_times(dict.fromkeys(tps, lo))
        found_hi = await c.offsets_for_times(dict.fromkeys(tps, hi)) if args.to_time else {}
        starts = {tp: found.offset if found else end[tp] for tp, found in found_lo.items()}
        ends = {tp: (found_hi[tp].offset if found_hi.get(tp) else end[tp]) for tp in tps}
    else:
        numbers = [tp.partition for tp in tps]
        for p, o in offsets_spec(args.from_offset, numbers, "--from-offset").items():
            starts[TopicPartition(args.topic, p)] = o
        for p, o in offsets_spec(args.to_offset, numbers, "--to-offset").items():
            ends[TopicPartition(args.topic, p)] = o
    spans = []
    for tp in tps:
        s, e = starts[tp], ends[tp]
        if not begin[tp] <= s <= end[tp] or not begin[tp] <= e <= end[tp] or e < s:
            raise OpsError(
                f"offsets out of range on {tp.topic}[{tp.partition}]: [{s}, {e}) but the partition holds"
                f" [{begin[tp]}, {end[tp]})"
            )
        spans.append(Span(tp, s, e, e - s))
    return spans, window


def in_window(timestamp: int, window: tuple[int, int] | None) -> bool:
    return window is None or window[0] <= timestamp < window[1]


async def count_exactly(c: AIOKafkaConsumer, spans: list[Span], window: tuple[int, int]) -> None:
    with bar() as progress:
        task = progress.add_task("counting", total=sum(s.end - s.start for s in spans))
        for span in spans:
            span.count = 0
            async for records in read_range(c, span.tp, span.start, span.end):
                span.count += sum(1 for r in records if in_window(r.timestamp, window))
                progress.advance(task, len(records))


async def replay(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not args.dry_run and not args.target:
        raise OpsError("--to TARGET is required (or --dry-run)")
    async with consumer(settings.kafka_bootstrap) as c:
        spans, window = await plan(c, args)
        if window is not None:
            await count_exactly(c, spans, window)
        for s in spans:
            print(f"{s.tp.topic}[{s.tp.partition}] offsets [{s.start}, {s.end}): {s.count} record(s)")
        print(f"total: {sum(s.count for s in spans)} record(s)")
        if args.dry_run:
            return 0
        target_partitions = {tp.partition for tp in await topic_partitions(c, args.target)}
        copied: dict[int, int] = {}
        async with producer(settings.kafka_bootstrap) as p:
            with bar() as progress:
                task = progress.add_task(f"copying to {args.target}", total=sum(s.count for s in spans))
                for span in spans:
                    n = 0
                    async for records in read_range(c, span.tp, span.start, span.end):
                        sends = [
                            await p.send(
                                args.target,
                                key=r.key,
                                value=r.value,
                                partition=r.partition if r.partition in target_partitions else None,
                                timestamp_ms=r.timestamp,
                                headers=list(r.headers or ()),
                            )
                            for r in records
                            if in_window(r.timestamp, window)
                        ]
                        await asyncio.gather(*sends)
                        n += len(sends)
                        progress.advance(task, len(sends))
                    copied[span.tp.partition] = n
    for partition, n in sorted(copied.items()):
        print(f"copied {args.topic}[{partition}] -> {args.target}: {n} record(s)")
    print(f"replay done: {sum(copied.values())} record(s) copied from {args.topic} to {args.target}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(replay(args))
    except OpsError as exc:
        print(f"chinook-pulse replay: {exc}", file=sys.stderr)
        return 2
