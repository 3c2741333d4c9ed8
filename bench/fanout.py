"""Fan-out: one edge process, K subscribers of one channel in separate client processes, M events/s.

    python -m bench fanout [--configs 1000:20,10000:2] [--seconds 15] [--client-procs 4]
                           [--servers edge,baseline] [--source kafka|local] [--profile]
                           [--search [--step 1.5] [--max-steps 12]]

For each (K, M) and server: a fresh deltas topic; one server process — the real edge (`chinook-pulse
edge`; `edge-deflate`: the same with EDGE_PER_MESSAGE_DEFLATE=true) or the baseline
(`bench.ws_baseline`, a bare `websockets` broadcast server); K websocket subscribers spread over
client processes (`bench.ws_clients`; Pusher protocol with a private channel signed from the app
secret against the edge, bare connections against the baseline); then M sequenced deltas per second
produced to the topic for `--seconds`, each carrying its send time. Reported: frames delivered per
second, delivery latency p50/p99/max (producer send -> client receive, one clock), the server's CPU
(cores) and its RSS per connection ((RSS with K connected - RSS idle) / K). The open-files limit is
raised here and inherited.

`--search` finds each server's ceiling: on the same server and subscribers it offers M, then
M x step, ... events/s (`--seconds` each) until a step fails (p99 > 250 ms, fewer frames than
offered x subscribers, or a subscriber closed) and reports the passing step with the most frames
delivered per second, with its CPU per frame (msgs per CPU-second of the server, all its threads).

`--source local` needs no Kafka: the edge is `bench.edge_local` (the same app and uvicorn options,
deltas applied in-process by a pump instead of the consumer) and the baseline pumps likewise; both
start on SIGUSR1. Latency then runs from the time each delta was due on the pump's schedule (a
server busy past it is measured late, not spared; no Kafka hop).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from bench.common import (
    CLI,
    FANOUT_CHANNEL,
    CpuMeter,
    Proc,
    create_topics,
    delete_topics_with_prefix,
    fanout_record,
    free_port,
    load,
    paced,
    pct,
    pyplot,
    raise_nofile,
    results_dir,
    save_json,
    spy_on,
    table,
)
from schemas.settings import get_settings

KEY, SECRET, APP_ID = "bench-key", "bench-secret-" + uuid.uuid4().hex, "4242"
CHANNEL = FANOUT_CHANNEL
SERVERS = {"edge": "edge", "edge-deflate": "edge, permessage-deflate", "baseline": "websockets baseline"}


def is_edge(kind: str) -> bool:
    return kind.startswith("edge")


def start_server(
    kind: str, topic: str, port: int, tag: str, source: str, rate: float, seconds: float, control: Path
) -> Proc:
    pump = ["--rate", str(rate), "--seconds", str(seconds), "--control", str(control)]
    if is_edge(kind):
        env = {
            "PUSHER_APP_ID": APP_ID,
            "PUSHER_APP_KEY": KEY,
            "PUSHER_APP_SECRET": SECRET,
            "DELTAS_TOPIC": topic,
            "EDGE_ALLOWED_ORIGINS": "*",
            "EDGE_MAX_CONNECTIONS": "50000",
            "EDGE_READY_WAIT": "10",
            "EDGE_PER_MESSAGE_DEFLATE": "true" if kind == "edge-deflate" else "false",
        }
        if source == "local":
            argv = [sys.executable, "-m", "bench.edge_local", "--port", str(port), *pump]
        else:
            argv = [CLI, "edge", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        return Proc(f"{tag}-{kind}", argv, env).start()
    argv = [sys.executable, "-m", "bench.ws_baseline", "--port", str(port)]
    argv += pump if source == "local" else ["--topic", topic, "--bootstrap", get_settings().kafka_bootstrap]
    return Proc(f"{tag}-baseline", argv).start()


async def wait_server(kind: str, proc: Proc, port: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
            if is_edge(kind):
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


GO_CLIENT = get_settings().run_dir / "bench-loadclient"  # built by `make bench` from bench/loadclient
CLIENT: dict[str, str] = {"kind": "auto"}


def client_argv() -> list[str]:
    """The subscriber processes: the compiled Go client when built (or asked for), else bench.ws_clients."""
    kind = CLIENT["kind"]
    if kind == "go" or (kind == "auto" and GO_CLIENT.exists()):
        if not GO_CLIENT.exists():
            raise RuntimeError(f"{GO_CLIENT} is not built: run `make bench-client`")
        return [str(GO_CLIENT)]
    return [sys.executable, "-m", "bench.ws_clients"]


async def start_clients(kind: str, port: int, k: int, procs: int) -> tuple[list[subprocess.Popen[bytes]], float]:
    if is_edge(kind):
        url, mode = f"ws://127.0.0.1:{port}/app/{KEY}?protocol=7&client=bench&version=1", "pusher"
    else:
        url, mode = f"ws://127.0.0.1:{port}/", "raw"
    share = [k // procs + (1 if i < k % procs else 0) for i in range(procs)]
    began = time.monotonic()
    clients = [
        subprocess.Popen(  # noqa: ASYNC220
            [
                *client_argv(),
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


async def produce(topic: str, rate: float, seconds: float, first: int = 0) -> int:
    """Send M deltas per second for `seconds`; the `first`-th has seq first + 1, so seq keeps rising
    across the steps of one server (the edge drops a repeated seq as a duplicate)."""
    producer = AIOKafkaProducer(bootstrap_servers=get_settings().kafka_bootstrap, linger_ms=0, acks=1)
    await producer.start()
    sent = 0
    try:
        async for i in paced(rate, seconds):
            await producer.send(topic, fanout_record(first + i), key=CHANNEL.encode())
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def pump(server: Proc, control: Path, rate: float, seconds: float) -> int:
    """`--source local`: the server makes and applies the records itself, from SIGUSR1 on."""
    await asyncio.to_thread(control.write_text, f"{rate} {seconds}")
    os.kill(server.pid, signal.SIGUSR1)
    await asyncio.sleep(seconds)
    return int(rate * seconds)


#: A step passes when every frame arrived, no subscriber was closed and p99 is within this.
P99_LIMIT_MS = 250.0


def passes(row: dict[str, Any]) -> bool:
    return row["closed_early"] == 0 and row["delivered_ratio"] >= 1.0 and row["p99_ms"] <= P99_LIMIT_MS


async def report(clients: list[subprocess.Popen[bytes]], command: bytes) -> list[dict[str, Any]]:
    """Each client process's counts and the latencies since its last report (`stop`: then it exits)."""
    for c in clients:
        assert c.stdin is not None
        c.stdin.write(command + b"\n")
        c.stdin.flush()
    results = []
    for c in clients:
        assert c.stdout is not None
        results.append(json.loads(await asyncio.to_thread(c.stdout.readline)))
    return results


async def run_config(
    kind: str,
    k: int,
    rates: list[float],
    seconds: float,
    client_procs: int,
    tag: str,
    profile: bool = False,
    source: str = "kafka",
) -> list[dict[str, Any]]:
    """One server, K subscribers, then one step per offered rate (in order) until a step fails."""
    settings = get_settings()
    topic = f"{tag}.deltas"
    if source == "kafka":
        await create_topics(settings.kafka_bootstrap, [topic], 3)
    port = free_port()
    control = results_dir() / "logs" / f"{tag}.pump"
    control.parent.mkdir(parents=True, exist_ok=True)
    server = start_server(kind, topic, port, tag, source, rates[0], seconds, control)
    clients: list[subprocess.Popen[bytes]] = []
    rows: list[dict[str, Any]] = []
    try:
        await wait_server(kind, server, port)
        meter = CpuMeter(server.pid)
        await asyncio.sleep(1.0)
        rss_idle = meter.rss()
        spy_connect = spy_on(server.pid, f"{tag}-connect") if profile and is_edge(kind) else None
        clients, connect_s = await start_clients(kind, port, k, min(client_procs, max(1, k // 250)))
        if spy_connect is not None:
            spy_connect.send_signal(2)
            await asyncio.to_thread(spy_connect.wait, 30)
        await asyncio.sleep(1.0)
        rss_connected = meter.rss()
        closed_before = 0
        produced = 0  # deltas sent to this server so far: the next step continues their seq
        for m in rates:
            meter.reset()
            began = time.monotonic()
            began_wall = time.time()
            spy = spy_on(server.pid, f"{tag}-m{m:g}-fanout") if profile and is_edge(kind) else None
            if source == "kafka":
                sent = await produce(topic, m, seconds, first=produced)
                produced += sent
            else:
                sent = await pump(server, control, m, seconds)
            cores = meter.cpu_fraction()  # while the events were offered
            await asyncio.sleep(2.0)  # let the last frames arrive
            elapsed = time.monotonic() - began
            cpu_s = meter.cpu_fraction() * elapsed  # all the CPU the step took, its tail included
            if spy is not None:
                spy.send_signal(2)
                await asyncio.to_thread(spy.wait, 30)
            results = await report(clients, b"report")
            lat: list[float] = [x for r in results for x in r["latencies_ms"]]
            connected = sum(r["connected"] for r in results)
            delivered = sum(r["latency_count"] for r in results)  # frames carrying a send time
            expected = sent * connected
            closed_total = sum(r["closed_early"] for r in results)
            codes: dict[str, int] = {}
            for r in results:
                for code, n in r["close_codes"].items():
                    codes[code] = codes.get(code, 0) + n
            last_frame = max(r["last_frame_at"] for r in results)
            row = {
                "server": SERVERS[kind],
                "source": source,
                "K": k,
                "M": m,
                "connected": connected,
                "connect_s": connect_s,
                "sent": sent,
                "delivered": delivered,
                "delivered_ratio": delivered / expected if expected else float("nan"),
                "msgs_per_s": delivered / max(1e-9, last_frame - began_wall) if delivered else 0.0,
                "p50_ms": pct(lat, 0.5),
                "p99_ms": pct(lat, 0.99),
                "max_ms": max((r["latency_max_ms"] or 0) for r in results),
                "cpu_cores": cores,
                "cpu_us_per_msg": cpu_s / delivered * 1e6 if delivered else float("nan"),
                "msgs_per_cpu_s": delivered / cpu_s if cpu_s > 0 else float("nan"),
                "rss_idle_mib": rss_idle / 2**20,
                "kib_per_conn": (rss_connected - rss_idle) / max(1, connected) / 1024,
                "rss_after_mib": meter.rss() / 2**20,
                "closed_early": closed_total - closed_before,
                "close_codes": codes,
                "load": load(),
                "latencies_sample": lat[:: max(1, len(lat) // 5000)],
            }
            closed_before = closed_total
            row["passed"] = passes(row)
            rows.append(row)
            print(f"[fanout] {row['server']:24} K={k:>6} M={m:>6g}: {row['msgs_per_s']:>9,.0f} msg/s "
                  f"({row['delivered_ratio']:.1%} of expected), p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} "
                  f"ms, cpu {row['cpu_cores']:.2f} cores, {row['cpu_us_per_msg']:.1f} µs/msg, "
                  f"{row['kib_per_conn']:.1f} KiB/conn, closed {row['closed_early']} {row['close_codes']}, "
                  f"{'pass' if row['passed'] else 'FAIL'}, {row['load']}", flush=True)  # fmt: skip
            if not row["passed"]:
                break
        await report(clients, b"stop")
        return rows
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait(10)
        server.stop()
        control.unlink(missing_ok=True)
        if source == "kafka":
            await delete_topics_with_prefix(settings.kafka_bootstrap, [tag])


def ladder(start: float, step: float, steps: int) -> list[float]:
    """``start`` then each rate ``step`` times the last (rounded to 2 significant digits), ``steps`` in all."""
    rates = [start]
    while len(rates) < steps:
        nxt = rates[-1] * step
        rates.append(float(f"{nxt:.2g}") if nxt >= 10 else round(nxt, 1))
    return rates


def ceiling(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The passing step that delivered the most frames per second (None if none passed)."""
    passed = [r for r in rows if r["passed"]]
    return max(passed, key=lambda r: r["msgs_per_s"]) if passed else None


async def bench(
    configs: list[tuple[int, float]],
    seconds: float,
    client_procs: int,
    profile: bool = False,
    servers: tuple[str, ...] = ("edge", "baseline"),
    source: str = "kafka",
    search: bool = False,
    step: float = 1.5,
    max_steps: int = 12,
) -> dict[str, Any]:
    limit = raise_nofile(200_000)
    mode = f"ceiling search x{step:g} from each M" if search else "fixed M"
    print(f"[fanout] open files limit {limit}; deltas from {source}; {mode}; {load()}", flush=True)
    rows: list[dict[str, Any]] = []
    best: list[dict[str, Any]] = []
    run = f"bench-fo-{uuid.uuid4().hex[:6]}"
    for k, m in configs:
        rates = ladder(m, step, max_steps) if search else [m]
        for kind in servers:
            found = await run_config(kind, k, rates, seconds, client_procs, f"{run}-{kind}-{k}", profile, source)
            rows += found
            top = ceiling(found)
            best.append(top if top is not None else {**found[0], "M": float("nan"), "msgs_per_s": 0.0})
    headers = ["server", "K", "M ev/s", "delivered msg/s", "of expected", "p50 ms", "p99 ms", "max ms",
               "server CPU cores", "CPU µs/msg", "msg/s per core", "KiB/conn", "connect s", "pass"]  # fmt: skip
    text = table(
        headers,
        [[r["server"], r["K"], r["M"], r["msgs_per_s"], f"{r['delivered_ratio']:.1%}", r["p50_ms"], r["p99_ms"],
          r["max_ms"], r["cpu_cores"], r["cpu_us_per_msg"], r["msgs_per_cpu_s"], r["kib_per_conn"], r["connect_s"],
          "yes" if r["passed"] else "no"] for r in rows],
    )  # fmt: skip
    print(f"\nFan-out ({seconds:g} s per step, deltas from {source}, {load()}):\n{text}\n", flush=True)
    summary = ""
    if search:
        baseline = {r["K"]: r["msgs_per_s"] for r in best if r["server"] == SERVERS["baseline"]}
        summary = table(
            ["server", "K", "ceiling msg/s (p99 <= 250 ms, 100 %)", "at M ev/s", "p50 ms", "p99 ms",
             "msg/s per CPU core", "CPU µs/msg", "KiB/conn", "x baseline"],
            [[r["server"], r["K"], r["msgs_per_s"], r["M"], r.get("p50_ms", float("nan")),
              r.get("p99_ms", float("nan")), r.get("msgs_per_cpu_s", float("nan")),
              r.get("cpu_us_per_msg", float("nan")), r["kib_per_conn"],
              r["msgs_per_s"] / baseline[r["K"]] if baseline.get(r["K"]) else float("nan")] for r in best],
        )  # fmt: skip
        print(f"Fan-out ceilings (highest passing step per server and K):\n{summary}\n", flush=True)
    plot(rows)
    save_json(
        "fanout.json",
        {"rows": [{k: v for k, v in r.items() if k != "latencies_sample"} for r in rows], "table": text,
         "ceilings": [{k: v for k, v in r.items() if k != "latencies_sample"} for r in best] if search else [],
         "summary": summary},
    )  # fmt: skip
    return {"rows": rows, "table": text, "ceilings": best if search else [], "summary": summary}


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
    short = {"edge": "edge", "edge, permessage-deflate": "edge+deflate", "websockets baseline": "ws"}
    colors = {"edge": "tab:blue", "edge, permessage-deflate": "tab:cyan", "websockets baseline": "tab:gray"}
    labels = [f"{short[r['server']]}\nK={r['K']}\nM={r['M']:g}" for r in rows]
    ax2.bar(range(len(rows)), [r["msgs_per_s"] for r in rows], color=[colors[r["server"]] for r in rows])
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


def parse_servers(text: str) -> tuple[str, ...]:
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [k for k in kinds if k not in SERVERS]
    if unknown or not kinds:
        raise ValueError(f"--servers: {unknown or text!r} not among {', '.join(SERVERS)}")
    return kinds


def main(args: Any) -> dict[str, Any]:
    servers = parse_servers(getattr(args, "servers", "edge,baseline"))
    source = getattr(args, "source", "kafka")
    CLIENT["kind"] = getattr(args, "client", "auto")
    print(f"[fanout] subscribers: {' '.join(client_argv())}", flush=True)
    search = bool(getattr(args, "search", False))
    step = float(getattr(args, "step", 1.5))
    max_steps = int(getattr(args, "max_steps", 12))
    return asyncio.run(
        bench(
            parse_configs(args.configs),
            args.seconds,
            args.client_procs,
            args.profile,
            servers,
            source,
            search,
            step,
            max_steps,
        )
    )
