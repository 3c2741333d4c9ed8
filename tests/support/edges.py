"""Real edges for the tests: `chinook-pulse edge` processes, raw Pusher clients, the Node drivers of
pusher-js and laravel-echo, and sequenced deltas produced as the worker would. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pusher
import pytest
from aiokafka import AIOKafkaProducer
from websockets.asyncio.client import ClientConnection, connect

from schemas.settings import PROJECT_ROOT
from tests.support.ports import free_port

JS_DIR = PROJECT_ROOT / "tests" / "js"


APP_ID = "4711"  # the official `pusher` package wants a numeric app id


KEY = "edge-it-key"


SECRET = "edge-it-secret-" + uuid.uuid4().hex  # generated: never the published one


METRICS_TOKEN = "edge-it-metrics-" + uuid.uuid4().hex


def cli() -> list[str]:
    script = Path(sys.executable).parent / "chinook-pulse"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ops.cli"]


class EdgeProcess:
    """`chinook-pulse edge` on a free port, as a real uvicorn subprocess."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = env
        self.log_path = log_dir / f"edge-{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/app/{KEY}?protocol=7&client=py&version=1"

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""

    async def start(self, within: float = 30.0) -> EdgeProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 (spawning does not block)
            [*cli(), "edge", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
        log.close()
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"edge {self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base}/readyz")).status_code == 200:
                        return self
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"edge {self.name} not ready (history refilled) in {within:.0f}s:\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"edge {self.name} did not stop in {timeout:.0f}s:\n{self.log_tail()}") from None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the edge was not started"
        return self.proc.pid

    async def metric(self, name: str) -> float:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(f"{self.base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200, f"/metrics answered {response.status_code}: {response.text[:200]}"
        text = response.text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    async def wait_consumed(self, records: int, within: float = 30.0) -> None:
        """Poll (bounded) until the edge has consumed at least `records` deltas."""
        deadline = time.monotonic() + within
        while (seen := await self.metric("edge_deltas_consumed_total")) < records:
            if time.monotonic() > deadline:
                raise AssertionError(f"edge read {seen:.0f} of {records} deltas in {within:.0f}s:\n{self.log_tail()}")
            await asyncio.sleep(0.1)


EdgeFactory = Callable[..., Awaitable[EdgeProcess]]


def official(edge: EdgeProcess, secret: str = SECRET, **options: Any) -> pusher.Pusher:
    """The official `pusher` SDK, pointed at `edge` (options: e.g. `encryption_master_key_base64`)."""
    return pusher.Pusher(app_id=APP_ID, key=KEY, secret=secret, host="127.0.0.1", port=edge.port, ssl=False, **options)


@dataclass
class Deltas:
    """Produces sequenced deltas as the worker would (key = channel, seq +1 per channel)."""

    producer: AIOKafkaProducer
    topic: str
    seqs: dict[str, int] = field(default_factory=dict)

    async def send(self, channel: str, event: str, data: dict[str, Any] | None = None) -> int:
        seq = self.seqs.get(channel, 0) + 1
        self.seqs[channel] = seq
        value = {"channel": channel, "event": event, "data": data or {}, "seq": seq, "ts_ms": int(time.time() * 1000)}
        await self.producer.send_and_wait(self.topic, json.dumps(value).encode(), key=channel.encode())
        return seq


class NodeDriver:
    """tests/js/driver.mjs: pusher-js clients driven by JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.reports: list[dict[str, Any]] = []
        self.seen: list[dict[str, Any]] = []

    async def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    async def connect(self, client: str, edge: EdgeProcess, token: str | None = None, within: float = 15.0) -> str:
        await self.send(op="connect", client=client, key=KEY, host="127.0.0.1", port=edge.port, token=token)
        state = await self.expect(
            lambda r: r.get("client") == client and r.get("type") == "state" and r.get("current") == "connected",
            within=within,
            what=f"{client} connected",
        )
        return str(state["socket_id"])

    async def expect(self, match: Callable[[dict[str, Any]], bool], *, within: float, what: str) -> dict[str, Any]:
        """The first report (seen before or arriving now) that `match`es; consumed once found."""
        for i, report in enumerate(self.reports):
            if match(report):
                return self.reports.pop(i)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"timed out after {within:.0f}s waiting for {what}; unmatched: {self.reports[-10:]}"
                )
            try:
                line = await asyncio.wait_for(self.proc.stdout.readline(), left)
            except TimeoutError:
                continue
            if not line:
                raise AssertionError(f"the Node driver exited while waiting for {what}")
            report = json.loads(line)
            self.seen.append(report)
            if report.get("type") == "driver_error":
                raise AssertionError(f"Node driver: {report}")
            if match(report):
                return report
            self.reports.append(report)

    async def events(self, client: str, channel: str, count: int, *, within: float) -> list[dict[str, Any]]:
        got = []
        for i in range(count):
            got.append(
                await self.expect(
                    lambda r: r.get("client") == client and r.get("type") == "event" and r.get("channel") == channel,
                    within=within,
                    what=f"event {i + 1}/{count} on {channel} for {client}",
                )
            )
        return got

    def pending(self, client: str, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.reports if r.get("client") == client and r.get("type") == kind]


@contextlib.asynccontextmanager
async def _driver(script: str, package: str) -> AsyncIterator[NodeDriver]:
    if shutil.which("node") is None:
        pytest.fail("node is not installed (Node 20 is needed for the pusher-js tests)")
    if not (JS_DIR / "node_modules" / package).exists():
        pytest.fail(f"{package} is not installed: run `npm ci --prefix tests/js`")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS_DIR / script),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=JS_DIR,
    )
    driver = NodeDriver(proc)
    await driver.expect(lambda r: r.get("type") == "ready", within=15, what=f"the Node driver {script} to start")
    yield driver
    with contextlib.suppress(Exception):
        await driver.send(op="exit")
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        proc.kill()
        await proc.wait()


class RawClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.socket_id = ""

    async def recv(self, within: float = 10.0, what: str = "a frame") -> dict[str, Any]:
        try:
            text = await asyncio.wait_for(self.ws.recv(), within)
        except TimeoutError:
            raise AssertionError(f"timed out after {within:.0f}s waiting for {what}") from None
        frame: dict[str, Any] = json.loads(text)
        if isinstance(frame.get("data"), str):
            with contextlib.suppress(ValueError):
                frame["data"] = json.loads(frame["data"])
        return frame

    async def send(self, event: str, data: Any, channel: str | None = None) -> None:
        frame: dict[str, Any] = {"event": event, "data": data}
        if channel is not None:
            frame["channel"] = channel
        await self.ws.send(json.dumps(frame))

    async def subscribe(self, channel: str, **data: Any) -> dict[str, Any]:
        await self.send("pusher:subscribe", {"channel": channel, **data})
        return await self.recv(what=f"the answer to subscribing {channel}")

    async def barrier(self) -> list[dict[str, Any]]:
        """Ping and collect every frame before the pong (what the edge queued so far)."""
        await self.send("pusher:ping", {})
        frames = []
        while True:
            frame = await self.recv(what="pusher:pong")
            if frame["event"] == "pusher:pong":
                return frames
            frames.append(frame)


@contextlib.asynccontextmanager
async def raw_client(edge: EdgeProcess, **kwargs: Any) -> AsyncIterator[RawClient]:
    async with connect(edge.ws_url, open_timeout=10, close_timeout=5, **kwargs) as ws:
        client = RawClient(ws)
        hello = await client.recv(what="pusher:connection_established")
        assert hello["event"] == "pusher:connection_established", hello
        client.socket_id = hello["data"]["socket_id"]
        yield client
