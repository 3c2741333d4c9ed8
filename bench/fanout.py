"""Fan-out: one edge process, K subscribers of one channel in separate client processes, M events/s.

    python -m bench fanout [--configs 1000:20,10000:2] [--seconds 15] [--client-procs 4]

For each (K, M): a fresh deltas topic; one server process — the real edge (`chinook-pulse edge`)
or the baseline (`bench.ws_baseline`, a bare `websockets` broadcast server); K websocket
subscribers spread over client processes (`bench.ws_clients`; Pusher protocol with a private
channel signed from the app secret against the edge, bare connections against the baseline);
then M sequenced deltas per second produced to the topic for `--seconds`, each carrying its send
time. Reported: frames delivered per second, delivery latency p50/p99/max (producer send ->
client receive, one clock), the server's CPU (cores) and its RSS per connection
((RSS with K connected - RSS idle) / K). The open-files limit is raised here and inherited.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from bench.common import (
    CLI,
    CpuMeter,
    Proc,
    create_topics,
    delete_topics_with_prefix,
    free_port,
    load,
    pct,
    pyplot,
    raise_nofile,
    results_dir,
    save_json,
    table,
)
from schemas.settings import get_settings

KEY, SECRET, APP_ID = "bench-key", "bench-secret-" + uuid.uuid4().hex, "4242"
CHANNEL = "private-bench"
PAD = "x" * 200  # a delta of realistic size (~300 B frame)


def spy_on(pid: int, name: str) -> subprocess.Popen[bytes]:
    """py-spy record (raw collapsed stacks, 50 Hz) of `pid` until SIGINT."""
    out = results_dir() / f"{name}.pyspy.txt"
    argv = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "--nonblocking", "-r", "50"]
    return subprocess.Popen(
        [*argv, "--format", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def start_server(kind: str, topic: str, port: int, tag: str) -> Proc:
    if kind == "edge":
        env = {
            "PUSHER_APP_ID": APP_ID,
            "PUSHER_APP_KEY": KEY,
            "PUSHER_APP_SECRET": SECRET,
            "DELTAS_TOPIC": topic,
            "EDGE_ALLOWED_ORIGINS": "*",
            "EDGE_MAX_CONNECTIONS": "50000",
            "EDGE_READY_WAIT": "10",
        }
        argv = [CLI, "edge", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        return Proc(f"{tag}-edge", argv, env).start()
    argv = [sys.executable, "-m", "bench.ws_baseline", "--port", str(port), "--topic", topic]
    return Proc(f"{tag}-baseline", argv, {"KAFKA": get_settings().kafka_bootstrap}).start()


async def wait_server(kind: str, proc: Proc, port: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
            if kind == "edge":
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            else:
                if proc.log_path is not None and "ready" in proc.log_path.read_text(errors="replace"):
                    await asyncio.sleep(1.0)  # the consumer seeks to the end
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{proc.name} not ready in {within}s:\n{proc.tail()}")


async def start_clients(kind: str, port: int, k: int, procs: int) -> tuple[list[subprocess.Popen[bytes]], float]:
    if kind == "edge":
        url, mode = f"ws://127.0.0.1:{port}/app/{KEY}?protocol=7&client=bench&version=1", "pusher"
    else:
        url, mode = f"ws://127.0.0.1:{port}/", "raw"
    share = [k // procs + (1 if i < k % procs else 0) for i in range(procs)]
    began = time.monotonic()
    clients = [
        subprocess.Popen(  # noqa: ASYNC220
            [
                sys.executable,
                "-m",
                "bench.ws_clients",
                "--url",
                url,
                "--n",
                str(n),
                "--mode",
                mode,
                "--channel",
                CHANNEL,
                "--key",
                KEY,
                "--secret",
                SECRET,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for n in share
        if n > 0
    ]
    connected = 0
    for c in clients:
        assert c.stdout is not None
        line = (await asyncio.to_thread(c.stdout.readline)).decode()
        if not line.startswith("ready"):
            raise RuntimeError(f"client process failed: {line!r}")
        connected += int(line.split()[1])
    if connected < k:
        print(f"[fanout] only {connected}/{k} subscribers connected", flush=True)
    return clients, time.monotonic() - began


async def produce(topic: str, rate: float, seconds: float) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=get_settings().kafka_bootstrap, linger_ms=0, acks=1)
    await producer.start()
    sent = 0
    try:
        began = time.monotonic()
        total = int(rate * seconds)
        for i in range(total):
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            value = {
                "channel": CHANNEL,
                "event": "SaleCompleted",
                "data": {"t": time.time(), "i": i, "pad": PAD},
                "seq": i + 1,
                "ts_ms": int(time.time() * 1000),
            }
            await producer.send(topic, orjson.dumps(value), key=CHANNEL.encode())
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def run_config(
    kind: str, k: int, m: float, seconds: float, client_procs: int, tag: str, profile: bool = False
) -> dict[str, Any]:
    settings = get_settings()
    topic = f"{tag}.deltas"
    await create_topics(settings.kafka_bootstrap, [topic], 3)
    port = free_port()
    server = start_server(kind, topic, port, tag)
    clients: list[subprocess.Popen[bytes]] = []
    try:
        await wait_server(kind, server, port)
        meter = CpuMeter(server.pid)
        await asyncio.sleep(1.0)
        rss_idle = meter.rss()
        spy_connect = spy_on(server.pid, f"{tag}-connect") if profile and kind == "edge" else None
        clients, connect_s = await start_clients(kind, port, k, min(client_procs, max(1, k // 250)))
        if spy_connect is not None:
            spy_connect.send_signal(2)
            await asyncio.to_thread(spy_connect.wait, 30)
        await asyncio.sleep(1.0)
        rss_connected = meter.rss()
        meter.reset()
        began = time.monotonic()
        began_wall = time.time()
        spy = spy_on(server.pid, f"{tag}-fanout") if profile and kind == "edge" else None
        sent = await produce(topic, m, seconds)
        await asyncio.sleep(2.0)  # let the last frames arrive
        elapsed = time.monotonic() - began
        cpu = meter.cpu_fraction()
        if spy is not None:
            spy.send_signal(2)
            await asyncio.to_thread(spy.wait, 30)
        rss_after = meter.rss()
        results = []
        for c in clients:
            assert c.stdin is not None and c.stdout is not None
            c.stdin.write(b"stop\n")
            c.stdin.flush()
        for c in clients:
            assert c.stdout is not None
            line = await asyncio.to_thread(c.stdout.readline)
            results.append(json.loads(line))
        lat: list[float] = [x for r in results for x in r["latencies_ms"]]
        connected = sum(r["connected"] for r in results)
        delivered = sum(r["latency_count"] for r in results)  # frames carrying a send time
        expected = sent * connected
        codes: dict[str, int] = {}
        for r in results:
            for code, n in r["close_codes"].items():
                codes[code] = codes.get(code, 0) + n
        row = {
            "server": "edge" if kind == "edge" else "websockets baseline",
            "K": k,
            "M": m,
            "connected": connected,
            "connect_s": connect_s,
            "sent": sent,
            "delivered": delivered,
            "delivered_ratio": delivered / expected if expected else float("nan"),
            "msgs_per_s": delivered / max(1e-9, max(r["last_frame_at"] for r in results) - began_wall),
            "p50_ms": pct(lat, 0.5),
            "p99_ms": pct(lat, 0.99),
            "max_ms": max((r["latency_max_ms"] or 0) for r in results),
            "cpu_cores": cpu,
            "cpu_us_per_msg": cpu * elapsed / delivered * 1e6 if delivered else float("nan"),
            "rss_idle_mib": rss_idle / 2**20,
            "kib_per_conn": (rss_connected - rss_idle) / max(1, connected) / 1024,
            "rss_after_mib": rss_after / 2**20,
            "closed_early": sum(r["closed_early"] for r in results),
            "close_codes": codes,
            "load": load(),
            "latencies_sample": lat[:: max(1, len(lat) // 5000)],
        }
        return row
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait(10)
        server.stop()
        await delete_topics_with_prefix(settings.kafka_bootstrap, [tag])


async def bench(
    configs: list[tuple[int, float]], seconds: float, client_procs: int, profile: bool = False
) -> dict[str, Any]:
    limit = raise_nofile(200_000)
    print(f"[fanout] open files limit {limit}; {load()}", flush=True)
    rows = []
    run = f"bench-fo-{uuid.uuid4().hex[:6]}"
    for k, m in configs:
        for kind in ("edge", "baseline"):
            row = await run_config(kind, k, m, seconds, client_procs, f"{run}-{kind}-{k}", profile)
            rows.append(row)
            print(f"[fanout] {row['server']:20} K={k:>6} M={m:>4}: {row['msgs_per_s']:>9,.0f} msg/s "
                  f"({row['delivered_ratio']:.1%} of expected), p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} "
                  f"ms, cpu {row['cpu_cores']:.2f} cores, {row['kib_per_conn']:.1f} KiB/conn, "
                  f"closed {row['closed_early']} {row['close_codes']}, {row['load']}", flush=True)  # fmt: skip
    headers = ["server", "K", "M ev/s", "delivered msg/s", "of expected", "p50 ms", "p99 ms", "max ms",
               "server CPU cores", "CPU µs/msg", "KiB/conn", "connect s"]  # fmt: skip
    text = table(
        headers,
        [[r["server"], r["K"], r["M"], r["msgs_per_s"], f"{r['delivered_ratio']:.1%}", r["p50_ms"], r["p99_ms"],
          r["max_ms"], r["cpu_cores"], r["cpu_us_per_msg"], r["kib_per_conn"], r["connect_s"]] for r in rows],
    )  # fmt: skip
    print(f"\nFan-out ({seconds:.0f} s per config, {load()}):\n{text}\n", flush=True)
    plot(rows)
    save_json("fanout.json", {"rows": [{k: v for k, v in r.items() if k != "latencies_sample"} for r in rows],
                              "table": text})  # fmt: skip
    return {"rows": rows, "table": text}


def plot(rows: list[dict[str, Any]]) -> None:
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for r in rows:
        lat = sorted(r["latencies_sample"])
        if lat:
            ys = [i / len(lat) for i in range(len(lat))]
            ax1.plot(lat, ys, label=f"{r['server']} K={r['K']} M={r['M']:g}")
    ax1.set_xscale("log")
    ax1.set_xlabel("delivery latency, ms (log)")
    ax1.set_ylabel("fraction of frames")
    ax1.set_title("latency CDF")
    ax1.legend(fontsize=8)
    labels = [f"{'edge' if r['server'] == 'edge' else 'ws'}\nK={r['K']}" for r in rows]
    ax2.bar(range(len(rows)), [r["msgs_per_s"] for r in rows],
            color=["tab:blue" if r["server"] == "edge" else "tab:gray" for r in rows])  # fmt: skip
    for i, r in enumerate(rows):
        ax2.text(i, r["msgs_per_s"], f"{r['msgs_per_s']:,.0f}\n{r['cpu_cores']:.2f} cores", ha="center",
                 va="bottom", fontsize=8)  # fmt: skip
    ax2.set_xticks(range(len(rows)), labels)
    ax2.set_ylabel("frames delivered / s")
    ax2.set_title(f"fan-out, {load()}")
    fig.tight_layout()
    fig.savefig(results_dir() / "fanout.png", dpi=100)
    plt.close(fig)


def parse_configs(text: str) -> list[tuple[int, float]]:
    out = []
    for part in text.split(","):
        k, m = part.split(":")
        out.append((int(k), float(m)))
    return out


def main(args: Any) -> dict[str, Any]:
    return asyncio.run(bench(parse_configs(args.configs), args.seconds, args.client_procs, args.profile))
