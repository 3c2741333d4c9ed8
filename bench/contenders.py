"""The worker's peers on the same workload: sales per hour (sum of invoice totals per UTC hour).

    python -m bench.contenders ceiling --prefix P --group G --out result.json
    python -m bench.contenders quix    --prefix P --group G --out result.json
    python -m bench.contenders faust   --prefix P --group G --out result.json

Both read `P.public.invoice`, `P.public.invoice_line` and `P.public.users` from the start, decode
every record, keep the last (hour, cents) of each invoice so that updates and deletes retract
what the invoice contributed before, and sum per hour. They run until SIGTERM, then write the
per-hour answer (epoch hour -> cents) to `--out`.

- `ceiling`: a plain aiokafka consume-decode-aggregate loop into a dict (commits every 0.5 s).
- `faust`: a bare Faust agent (`async for event in stream.events()`, orjson, a dict), uvloop, memory
  store, no table: the framework's own floor per event, the worker's configuration otherwise.
  `--worker-reads` gives its consumer the worker's read rounds (`stream/repairs/fetch_wait.py`),
  the one repair that sets when a read happens rather than what it costs (the e2e bench's baseline).
- `quix`: Quix Streams: stateful per-invoice diff -> group_by(hour) (a repartition topic) ->
  tumbling_window(1 h).sum().current(), event time = the invoice's hour; commit_interval 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

HOUR_US = 3_600_000_000
TABLES = ("invoice", "invoice_line", "users")


def invoice_diff(value: dict[str, Any] | None, prev: tuple[int, int] | None) -> tuple[list[tuple[int, int]], Any]:
    """The (hour, signed cents) changes one invoice event makes, and the invoice's new (hour, cents)."""
    if value is None:  # tombstone
        return [], prev
    after = value.get("after") if value.get("op") != "d" else None
    out: list[tuple[int, int]] = []
    if prev is not None:
        out.append((prev[0], -prev[1]))
    now = None
    if after is not None:
        now = (after["invoice_date"] // HOUR_US, int(Decimal(after["total"]) * 100))
        out.append(now)
    return out, now


def write(out: Path, hours: dict[int, int], first: float, last: float) -> None:
    answer = {str(h): c for h, c in sorted(hours.items()) if c}
    out.write_text(json.dumps({"hours": answer, "first": first, "last": last}))


# -- ceiling ---------------------------------------------------------------------------------


async def ceiling(prefix: str, bootstrap: str, group: str, out: Path) -> None:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        *(f"{prefix}.public.{t}" for t in TABLES),
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    invoice_topic = f"{prefix}.public.invoice"
    state: dict[bytes, tuple[int, int]] = {}
    hours: dict[int, int] = {}
    first = last = 0.0
    await consumer.start()
    try:
        last_commit = loop.time()
        while not stop.is_set():
            asked = time.time()
            batches = await consumer.getmany(timeout_ms=200, max_records=20_000)
            if batches and not first:
                first = asked  # the fetch that brought the first records counts
            for tp, records in batches.items():
                is_invoice = tp.topic == invoice_topic
                for r in records:
                    if r.value is None:
                        continue
                    value = orjson.loads(r.value)  # every record is decoded, as the worker does
                    if not is_invoice:
                        continue
                    changes, now = invoice_diff(value, state.get(r.key))
                    if now is None:
                        state.pop(r.key, None)
                    else:
                        state[r.key] = now
                    for hour, cents in changes:
                        hours[hour] = hours.get(hour, 0) + cents
            if batches:
                last = time.time()
            if loop.time() - last_commit >= 0.5 and batches:
                await consumer.commit()
                last_commit = loop.time()
            elif not batches:
                await consumer.commit()
    finally:
        await consumer.stop()
    write(out, hours, first, last)


# -- bare Faust agent ------------------------------------------------------------------------


def bare_faust(prefix: str, bootstrap: str, group: str, out: Path, state_dir: str, worker_reads: bool = False) -> None:
    import faust
    import uvloop

    uvloop.install()
    if worker_reads:
        from stream.repairs import fetch_wait

        fetch_wait.install()
    app = faust.App(
        group,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=state_dir,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        stream_wait_empty=False,
        web_enabled=False,
    )
    topic = app.topic(
        *(f"{prefix}.public.{t}" for t in TABLES),
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
    )  # fmt: skip
    invoice_topic = f"{prefix}.public.invoice"
    state: dict[bytes, tuple[int, int]] = {}
    hours: dict[int, int] = {}
    times = [0.0, 0.0]

    @app.agent(topic)
    async def aggregate(stream: Any) -> None:
        async for event in stream.events():
            now = time.time()
            if not times[0]:
                times[0] = now
            times[1] = now
            message = event.message
            if message.value is None:
                continue
            value = orjson.loads(message.value)
            if message.topic != invoice_topic:
                continue
            changes, after = invoice_diff(value, state.get(message.key))
            if after is None:
                state.pop(message.key, None)
            else:
                state[message.key] = after
            for hour, cents in changes:
                hours[hour] = hours.get(hour, 0) + cents

    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        write(out, hours, times[0], times[1])


# -- Quix Streams ----------------------------------------------------------------------------


def quix(prefix: str, bootstrap: str, group: str, out: Path, state_dir: str) -> None:
    from quixstreams import Application, State

    times = [0.0, 0.0]  # wall time of the first and the last message processed

    def processed(topic: str, partition: int, offset: int) -> None:
        now = time.time()
        if not times[0]:
            times[0] = now
        times[1] = now

    app = Application(
        on_message_processed=processed,
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        commit_interval=0.5,
        state_dir=state_dir,
        loglevel="WARNING",
    )
    hours: dict[int, int] = {}

    def diff(value: dict[str, Any], state: State) -> list[dict[str, int]]:
        prev = state.get("hc")
        changes, now = invoice_diff(value, tuple(prev) if prev else None)
        if now is None:
            state.delete("hc")
        else:
            state.set("hc", list(now))
        return [{"hour": h, "cents": c} for h, c in changes]

    def record(row: dict[str, Any]) -> None:
        hours[row["start"] // 3_600_000] = row["value"]

    invoices = app.dataframe(app.topic(f"{prefix}.public.invoice", value_deserializer="json"))
    invoices = invoices.filter(lambda v: v is not None)
    invoices = invoices.apply(diff, stateful=True, expand=True)
    invoices = invoices.group_by(lambda v: str(v["hour"]), name="hour")
    invoices = invoices.set_timestamp(lambda v, k, ts, h: v["hour"] * 3_600_000)
    invoices = invoices.apply(lambda v: v["cents"])
    invoices = invoices.tumbling_window(duration_ms=3_600_000, grace_ms=30 * 24 * 3_600_000).sum().current()
    invoices.update(record)
    for table in ("invoice_line", "users"):  # consumed and decoded, nothing to aggregate
        other = app.dataframe(app.topic(f"{prefix}.public.{table}", value_deserializer="json"))
        other.filter(lambda v: False)
    try:
        app.run()
    finally:
        write(out, hours, times[0], times[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("which", choices=["ceiling", "faust", "quix"])
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--group", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--state-dir", default="/tmp/bench-quix-state")
    ap.add_argument("--worker-reads", action="store_true", help="faust: read in the worker's rounds (fetch_wait)")
    args = ap.parse_args(argv)
    if args.which == "ceiling":
        asyncio.run(ceiling(args.prefix, args.bootstrap, args.group, args.out))
    elif args.which == "faust":
        bare_faust(args.prefix, args.bootstrap, args.group, args.out, args.state_dir, args.worker_reads)
    else:
        quix(args.prefix, args.bootstrap, args.group, args.out, args.state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
