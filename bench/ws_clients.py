"""One process of fan-out subscribers: N websocket connections, each receiving every frame.

    python -m bench.ws_clients --url ws://... --n 2500 --mode pusher|raw [--channel C --key K --secret S]

`pusher` mode speaks the Pusher protocol as a raw client: waits for
`pusher:connection_established`, subscribes the private channel with `auth` = key:HMAC-SHA256(secret,
"socket_id:channel") computed here from the app secret, waits for `subscription_succeeded`.
`raw` mode (the websockets baseline) only connects. Prints `ready <connected>` once every
connection is set up, then records, for every frame carrying `"t"` (the producer's wall time),
the delivery latency; on a `report` line on stdin prints one JSON line with the counts and the
latencies (milliseconds) since the last report, on any other line (or after --max-seconds) prints
it and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import time
from array import array
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

LAT = array("d")
STATE: dict[str, Any] = {"last": 0.0, "frames": 0, "closed": 0, "errors": 0, "close_codes": {}}


def auth(key: str, secret: str, socket_id: str, channel: str) -> str:
    sig = hmac.new(secret.encode(), f"{socket_id}:{channel}".encode(), hashlib.sha256).hexdigest()
    return f"{key}:{sig}"


async def open_one(url: str, mode: str, channel: str, key: str, secret: str) -> ClientConnection:
    ws = await connect(url, open_timeout=60, close_timeout=2, ping_interval=None, max_queue=None)
    if mode == "pusher":
        hello = json.loads(await asyncio.wait_for(ws.recv(), 60))
        assert hello["event"] == "pusher:connection_established", hello
        socket_id = json.loads(hello["data"])["socket_id"]
        data = {"channel": channel, "auth": auth(key, secret, socket_id, channel)}
        await ws.send(json.dumps({"event": "pusher:subscribe", "data": data}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if frame["event"] == "pusher_internal:subscription_succeeded":
                break
            if frame["event"] in ("pusher:error", "pusher:subscription_error"):
                raise RuntimeError(f"subscribe refused: {frame}")
    return ws


async def reader(ws: ClientConnection) -> None:
    try:
        async for message in ws:
            now = time.time()
            STATE["frames"] += 1
            STATE["last"] = now
            # the frame's data is a JSON string holding "t": parse only that small document
            frame = orjson.loads(message)
            data = frame.get("data")
            if isinstance(data, str) and '"t"' in data:
                LAT.append((now - orjson.loads(data)["t"]) * 1000)
    except Exception:
        STATE["errors"] += 1
    finally:
        STATE["closed"] += 1
        code = str(ws.close_code)
        STATE["close_codes"][code] = STATE["close_codes"].get(code, 0) + 1


async def main(args: argparse.Namespace) -> None:
    sem = asyncio.Semaphore(args.concurrency)
    conns: list[ClientConnection] = []
    failed = 0

    async def one() -> None:
        nonlocal failed
        async with sem:
            try:
                conns.append(await open_one(args.url, args.mode, args.channel, args.key, args.secret))
            except Exception as exc:
                failed += 1
                if failed <= 3:
                    print(f"connect failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    began = time.monotonic()
    await asyncio.gather(*(one() for _ in range(args.n)))
    tasks = [asyncio.create_task(reader(ws)) for ws in conns]
    print(f"ready {len(conns)} {time.monotonic() - began:.2f}", flush=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.max_seconds
    while True:
        try:
            line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), deadline - loop.time())
        except TimeoutError:
            line = ""
        if line.strip() != "report":
            break
        report(len(conns), failed)
    report(len(conns), failed)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)


def report(connected: int, failed: int) -> None:
    """One JSON line: cumulative counts, the latencies since the last report (then reset)."""
    result = {
        "connected": connected,
        "failed": failed,
        "frames": STATE["frames"],
        "last_frame_at": STATE["last"],
        "closed_early": STATE["closed"],
        "close_codes": STATE["close_codes"],
        "latencies_ms": list(LAT[:: max(1, len(LAT) // 20000)]),
        "latency_count": len(LAT),
        "latency_max_ms": max(LAT) if LAT else None,
    }
    del LAT[:]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--mode", choices=["pusher", "raw"], default="pusher")
    ap.add_argument("--channel", default="private-bench")
    ap.add_argument("--key", default="")
    ap.add_argument("--secret", default="")
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--max-seconds", type=float, default=600)
    asyncio.run(main(ap.parse_args()))
