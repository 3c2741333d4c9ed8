"""`chinook-pulse dlq list` and `dlq replay`: the dead letters, with their reasons; replay after a fix.

`replay` produces each selected dead letter's original key and value, byte for byte, to its
original topic (or `--to`), in its original partition when the topic has it, with a header
`chinook-pulse-dlq` naming the dead letter. The worker's state is absolute and versioned, so
replaying a record twice is harmless. A record dead-lettered more than once (reprocessed after a
crash; a bad reference record, which every worker reads at every start) is listed and replayed once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer

from ops.kafka_io import OpsError, consumer, producer, read_range, topic_partitions
from ops.progress import bar
from schemas.dead_letter import DeadLetter, DeadLetterFormatError, decode_dead_letter
from schemas.settings import get_settings

REPLAY_HEADER = "chinook-pulse-dlq"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("dlq", help="dead letters: list them, replay them")
    actions = parser.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    for name, help_text, func in (
        ("list", "the dead letters with their reasons", run_list),
        ("replay", "re-produce dead letters' original records to their topics", run_replay),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--topic", help="the dead-letter topic (default DLQ_TOPIC)")
        action.add_argument("--source", help="only dead letters of this original topic")
        action.add_argument("--key", action="append", help="only this dead letter (TOPIC/PARTITION/OFFSET); repeat")
        action.add_argument("--since", metavar="ISO", help="only dead letters that failed at or after this instant")
        action.set_defaults(func=func)
        if name == "list":
            action.add_argument("--json", action="store_true", help="one JSON object per line")
        else:
            action.add_argument("--to", dest="target", help="produce to this topic instead of the original one")
            action.add_argument("--dry-run", action="store_true", help="show what would be replayed")


async def read_letters(c: AIOKafkaConsumer, topic: str) -> tuple[list[DeadLetter], int]:
    """Every dead letter of the topic (oldest first per partition) and how many records were unreadable."""
    tps = await topic_partitions(c, topic)
    begin, end = await c.beginning_offsets(tps), await c.end_offsets(tps)
    letters: list[DeadLetter] = []
    unreadable = 0
    for tp in tps:
        async for records in read_range(c, tp, begin[tp], end[tp]):
            for r in records:
                try:
                    letters.append(decode_dead_letter(r.value))
                except (DeadLetterFormatError, TypeError):
                    unreadable += 1
    return fold_repeats(letters), unreadable


def fold_repeats(letters: list[DeadLetter]) -> list[DeadLetter]:
    """One dead letter per original record (its key `topic/partition/offset`), the latest failure
    kept, in the order of first failure: a record is dead-lettered again when a worker reprocesses it
    after a crash, and a bad reference record at every worker start."""
    latest: dict[bytes, DeadLetter] = {}
    for letter in letters:
        kept = latest.get(letter.kafka_key)
        if kept is None or letter.failed_at >= kept.failed_at:
            latest[letter.kafka_key] = letter
    return list(latest.values())


def selected(letters: list[DeadLetter], args: argparse.Namespace) -> list[DeadLetter]:
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise OpsError(f"--since must be ISO 8601, got {args.since!r}") from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    keys = set(args.key or ())
    return [
        d
        for d in letters
        if (args.source is None or d.source_topic == args.source)
        and (not keys or d.kafka_key.decode() in keys)
        and (since is None or d.failed_at >= since)
    ]


def describe(d: DeadLetter) -> dict[str, Any]:
    return {
        "key": d.kafka_key.decode(),
        "source_topic": d.source_topic,
        "partition": d.partition,
        "offset": d.offset,
        "failed_at": d.failed_at.isoformat().replace("+00:00", "Z"),
        "worker": d.worker,
        "reason": d.reason,
        "key_bytes": None if d.key is None else len(d.key),
        "value_bytes": None if d.value is None else len(d.value),
    }


async def list_letters(args: argparse.Namespace) -> int:
    settings = get_settings()
    async with consumer(settings.kafka_bootstrap) as c:
        letters, unreadable = await read_letters(c, args.topic or settings.dlq_topic)
    chosen = selected(letters, args)
    for d in chosen:
        info = describe(d)
        if args.json:
            print(json.dumps(info, ensure_ascii=False))
        else:
            print(f"{info['key']}  failed {info['failed_at']} on {info['worker']}\n    {info['reason']}")
    by_topic = Counter(d.source_topic for d in chosen)
    summary = ", ".join(f"{t}: {n}" for t, n in sorted(by_topic.items())) or "none"
    print(f"{len(chosen)} dead letter(s) ({summary}); {unreadable} unreadable record(s)", file=sys.stderr)
    return 0


async def replay_letters(args: argparse.Namespace) -> int:
    settings = get_settings()
    async with consumer(settings.kafka_bootstrap) as c:
        letters, unreadable = await read_letters(c, args.topic or settings.dlq_topic)
        chosen = selected(letters, args)
        targets = {args.target or d.source_topic for d in chosen}
        partitions = {t: {tp.partition for tp in await topic_partitions(c, t)} for t in sorted(targets)}
    for d in chosen:
        verb = "would replay" if args.dry_run else "replay"
        print(f"{verb} {d.kafka_key.decode()} -> {args.target or d.source_topic}")
    if args.dry_run:
        print(f"dry run: {len(chosen)} dead letter(s) selected; {unreadable} unreadable record(s)")
        return 0
    sent: Counter[str] = Counter()
    async with producer(settings.kafka_bootstrap) as p:
        with bar() as progress:
            task = progress.add_task("replaying dead letters", total=len(chosen))
            for d in chosen:
                target = args.target or d.source_topic
                partition = d.partition if d.partition in partitions[target] else None
                headers = [(REPLAY_HEADER, d.kafka_key)]
                await (await p.send(target, key=d.key, value=d.value, partition=partition, headers=headers))
                sent[target] += 1
                progress.advance(task)
    summary = ", ".join(f"{t}: {n}" for t, n in sorted(sent.items())) or "nothing"
    print(f"dlq replay done: {sum(sent.values())} record(s) re-produced ({summary}); {unreadable} unreadable skipped")
    return 0


def run_list(args: argparse.Namespace) -> int:
    return _run(list_letters(args), "dlq list")


def run_replay(args: argparse.Namespace) -> int:
    return _run(replay_letters(args), "dlq replay")


def _run(coro: Any, name: str) -> int:
    try:
        code: int = asyncio.run(coro)
    except OpsError as exc:
        print(f"chinook-pulse {name}: {exc}", file=sys.stderr)
        return 2
    return code
