"""`chinook-pulse lag`: consumer lag per topic and partition, for the worker group and for the edges.

The worker group's lag is its committed offset against each partition's end. Edges read the
deltas topic without a consumer group (every edge reads every partition), so their lag is what
each edge reports itself on `/metrics` (`edge_consumer_lag{partition=...}`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from typing import Any

import httpx

from ops.kafka_io import OpsError, admin, consumer, describe_group
from schemas.settings import get_settings

METRIC = re.compile(r'^edge_consumer_lag\{partition="(\d+)"\}\s+([0-9.eE+-]+)$')


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("lag", help="consumer lag of the worker group and edges")
    parser.add_argument("--group", help="the worker group (default WORKER_ID)")
    parser.add_argument("--edge", action="append", metavar="URL", help="an edge's base URL; repeat (default PUSHER_*)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=run)


async def group_lag(bootstrap: str, group: str) -> dict[str, Any]:
    async with admin(bootstrap) as a:
        info = await describe_group(a, group)
        committed = await a.list_consumer_group_offsets(group)
    rows = []
    if committed:
        async with consumer(bootstrap) as c:
            ends = await c.end_offsets(list(committed))
        for tp in sorted(committed, key=lambda t: (t.topic, t.partition)):
            end, done = ends[tp], committed[tp].offset
            rows.append({"topic": tp.topic, "partition": tp.partition, "committed": done, "end": end})
            rows[-1]["lag"] = end - done
    return {"group": group, "state": info.state, "members": len(info.members), "partitions": rows}


async def edge_lag(url: str, metrics_token: str = "") -> dict[str, Any]:
    """An edge's consumer lag from its /metrics (which needs EDGE_METRICS_TOKEN as a bearer token)."""
    headers = {"Authorization": f"Bearer {metrics_token}"} if metrics_token else {}
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url.rstrip("/") + "/metrics", headers=headers)
    except httpx.HTTPError as exc:
        return {"edge": url, "error": f"unreachable ({type(exc).__name__})", "partitions": []}
    if response.status_code != 200:
        return {
            "edge": url,
            "error": f"/metrics answered {response.status_code} (EDGE_METRICS_TOKEN?)",
            "partitions": [],
        }
    text = response.text
    rows = []
    for line in text.splitlines():
        m = METRIC.match(line.strip())
        if m:
            rows.append({"partition": int(m.group(1)), "lag": int(float(m.group(2)))})
    return {"edge": url, "partitions": sorted(rows, key=lambda r: r["partition"])}


def print_report(report: dict[str, Any], deltas_topic: str) -> None:
    g = report["group"]
    print(f"worker group {g['group']}: state {g['state']}, {g['members']} member(s)")
    print(f"  {'topic':<44} {'part':>4} {'committed':>10} {'end':>10} {'lag':>8}")
    for r in g["partitions"]:
        print(f"  {r['topic']:<44} {r['partition']:>4} {r['committed']:>10} {r['end']:>10} {r['lag']:>8}")
    print(f"  total lag: {sum(r['lag'] for r in g['partitions'])}")
    for e in report["edges"]:
        if "error" in e:
            print(f"edge {e['edge']}: {e['error']}")
            continue
        parts = ", ".join(f"[{r['partition']}] {r['lag']}" for r in e["partitions"]) or "no partitions reported"
        print(f"edge {e['edge']} on {deltas_topic}: {parts}; total {sum(r['lag'] for r in e['partitions'])}")


async def lag(args: argparse.Namespace) -> int:
    settings = get_settings()
    edges = args.edge or [f"http://{settings.pusher_host}:{settings.pusher_port}"]
    report = {
        "group": await group_lag(settings.kafka_bootstrap, args.group or settings.worker_id),
        "edges": list(await asyncio.gather(*(edge_lag(u, settings.edge.metrics_token) for u in edges))),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report, settings.deltas_topic)
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(lag(args))
    except OpsError as exc:
        print(f"chinook-pulse lag: {exc}", file=sys.stderr)
        return 2
