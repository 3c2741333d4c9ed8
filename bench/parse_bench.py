"""Micro-benchmark of the Debezium parser: events/s for both converter modes.

    .venv/bin/python bench/parse_bench.py [--events 20000] [--runs 7]

Parses a realistic mix (invoice, invoice_line, track, customer, users; creates, updates,
deletes) built by `tests.support.envelopes.MessageBuilder`, on one core, and prints the median of
several runs. The schema cache is warm after the first event of each table, as in the worker.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from schemas.debezium import DebeziumParser
from schemas.events import ChangeEvent
from tests.support.envelopes import MessageBuilder


def messages(builder: MessageBuilder, count: int) -> list[tuple[bytes, bytes, str]]:
    """`count` (key, value, topic) triples; mostly invoice lines and invoices, like the store."""
    start = datetime(2024, 5, 1, tzinfo=UTC)
    out: list[tuple[bytes, bytes, str]] = []
    for i in range(count):
        lsn = 24_000_000 + i * 64
        kind = i % 10
        when = start + timedelta(seconds=i)
        if kind < 5:
            row = {
                "invoice_line_id": i,
                "invoice_id": i // 5,
                "track_id": i % 3500,
                "unit_price": Decimal("0.99"),
                "quantity": 1,
            }
            key, value = builder.change("invoice_line", "c", None, row, lsn=lsn, commit_lsn=lsn - 8)
            table = "invoice_line"
        elif kind < 8:
            row = {
                "invoice_id": i,
                "customer_id": i % 59,
                "invoice_date": when,
                "billing_country": "Chile",
                "total": Decimal(i % 2000) / 100,
            }
            op = "c" if kind < 7 else "u"
            key, value = builder.change("invoice", op, row if op == "u" else None, row, lsn=lsn, commit_lsn=lsn - 8)
            table = "invoice"
        elif kind == 8:
            row = {
                "id": i % 50,
                "name": "Ada",
                "email": "a@b.c",
                "role": "viewer",
                "last_activity": when,
                "created_at": start,
            }
            key, value = builder.change("users", "u", row, row, lsn=lsn, commit_lsn=lsn - 8)
            table = "users"
        else:
            row = {
                "invoice_line_id": i,
                "invoice_id": i // 5,
                "track_id": 1,
                "unit_price": Decimal("1.99"),
                "quantity": 2,
            }
            key, value = builder.change("invoice_line", "d", row, None, lsn=lsn, commit_lsn=lsn - 8)
            table = "invoice_line"
        out.append((key, value, builder.topic(table)))
    return out


def run(batch: list[tuple[bytes, bytes, str]], runs: int) -> tuple[float, float]:
    parser = DebeziumParser()
    for key, value, topic in batch[:100]:  # warm up: plan caches, branch caches
        assert isinstance(parser.parse(key, value, topic), ChangeEvent)
    rates = []
    for _ in range(runs):
        began = time.perf_counter()
        for key, value, topic in batch:
            parser.parse(key, value, topic)
        rates.append(len(batch) / (time.perf_counter() - began))
    return statistics.median(rates), statistics.mean(len(v) for _, v, _ in batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, orjson {orjson.__version__}, {args.events} events x {args.runs} runs")
    for enabled in (True, False):
        for mode in ("precise", "string", "double"):
            batch = messages(MessageBuilder(schemas_enable=enabled, decimal_mode=mode), args.events)
            rate, size = run(batch, args.runs)
            label = f"schemas.enable={'true' if enabled else 'false':5} decimal={mode:7}"
            print(f"{label}  median {rate:>9,.0f} events/s  ({size:,.0f} B/value)")


if __name__ == "__main__":
    main()
