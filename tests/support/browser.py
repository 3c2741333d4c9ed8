"""The browser tests' library: a whole stack (worker, edge) for a page, a lone edge, and Chromium
driven through playwright-core under Node (tests/browser/driver.mjs). Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import selectors
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import Engine

from schemas.settings import PROJECT_ROOT, Settings
from tables import oracle
from tables.windows import today
from tests.support.edges import EdgeProcess
from tests.support.oracle import read_topic
from tests.support.workers import Isolation, Worker

BROWSER_DIR = PROJECT_ROOT / "tests" / "browser"


WEB_DIR = PROJECT_ROOT / "web"


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"


APP_ID = "4712"


KEY = "browser-it-key"


SECRET = "browser-it-secret-" + os.urandom(8).hex()


# A fresh worker replays the CDC history first: minutes on a shared dev database full of test traffic.
WORKER_CATCH_UP_S = float(os.environ.get("BROWSER_TEST_CATCH_UP_S", "600"))


def _require_tools() -> None:
    problems = []
    if not Path(CHROMIUM).exists():
        problems.append(f"{CHROMIUM} is missing: `apt-get install -y chromium` (Debian's; never a browser download)")
    if shutil.which("node") is None:
        problems.append("node is missing (Node 20 with npm)")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").exists():
        problems.append("playwright-core is missing: `npm ci --prefix tests/browser`")
    if not (WEB_DIR / "node_modules" / "pusher-js").exists():
        problems.append("pusher-js for the page is missing: `npm ci --prefix web`")
    if problems:
        pytest.fail("browser tests cannot run:\n" + "\n".join(problems))


@dataclass
class Stack:
    """One worker (its own topics) and one edge on a free port, serving the page."""

    isolation: Isolation
    worker: Worker
    edge: EdgeProcess
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.edge.base}/"

    def restart_edge(self, *, down_while: Any = None) -> None:
        """Stop the edge, run `down_while()` while it is down, start a new one on the same port."""
        port = self.edge.port
        self.edge.stop()
        if down_while is not None:
            down_while()
        edge = EdgeProcess("b", self.env, self.log_dir)
        edge.port = port
        edge.log_path = self.log_dir / f"edge-b-{port}.log"
        self.edge = edge
        asyncio.run(edge.start(within=60))

    def logs(self) -> str:
        worker = f"--- worker\n{self.worker.log_tail(20)}\n--- its tasks\n{self.worker.tasks()}"
        return f"{worker}\n--- edge\n{self.edge.log_tail()[-2000:]}"


def wait_group_reaches_end(settings: Settings, stack: Stack, deadline: float) -> None:
    """The worker group's committed offsets reach every partition's end as it was when this began
    (so a backlog of changes that happen to net out, e.g. a benchmark's inserts and deletes, is read)."""

    async def lagging(targets: dict[Any, int] | None) -> tuple[dict[Any, int], list[str]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await asyncio.wait_for(admin.start(), 30)
        try:
            committed = await asyncio.wait_for(admin.list_consumer_group_offsets(stack.isolation.worker_id), 30)
        finally:
            await admin.close()
        if targets is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
            await asyncio.wait_for(consumer.start(), 30)
            try:
                cdc = [tp for tp in committed if tp.topic.startswith(settings.topic_prefix + ".public.")]
                targets = dict(await asyncio.wait_for(consumer.end_offsets(cdc), 30))
            finally:
                await consumer.stop()
        behind = [
            f"{tp.topic}[{tp.partition}] {committed[tp].offset if tp in committed else None} < {end}"
            for tp, end in targets.items()
            if tp not in committed or committed[tp].offset < end
        ]
        return targets, behind

    targets: dict[Any, int] | None = None
    behind = ["not checked yet"]
    while time.monotonic() < deadline:
        targets, behind = asyncio.run(lagging(targets or None))
        if targets and not behind:
            return
        time.sleep(3)
    raise AssertionError(f"the worker did not read the CDC topics to their end in time: {behind[:6]}\n{stack.logs()}")


def wait_caught_up(settings: Settings, engine: Engine, stack: Stack, timeout_s: float) -> None:
    """A fresh worker reads the whole CDC history first (minutes on a dev database full of test
    traffic): wait (bounded) until its last `SalesUpdated` equals SQL, so the tests time the page,
    not the worker's catch-up."""
    tz = settings.pulse_timezone
    deadline = time.monotonic() + timeout_s
    wait_group_reaches_end(settings, stack, deadline)
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        if not stack.worker.alive():
            raise AssertionError(f"the worker died:\n{stack.logs()}")
        for d in read_topic(settings, stack.isolation.deltas_topic):
            if d["channel"] == "private-admin.sales" and d["event"] == "SalesUpdated":
                last = d["data"]
        if last is not None:
            with engine.connect() as conn:
                if last == oracle.sales_of_day(conn, today(tz), tz):
                    return
        time.sleep(3)
    summary = last and {k: last[k] for k in ("date", "total", "invoice_count")}
    raise AssertionError(
        f"the worker's SalesUpdated did not equal SQL within {timeout_s:.0f}s (last: {summary})\n{stack.logs()}"
    )


@dataclass
class LoneEdge:
    """An edge on a fresh deltas topic, fed by the test itself (no worker): the page's contract."""

    edge: EdgeProcess
    topic: str
    env: dict[str, str]
    log_dir: Path
    bootstrap: str
    seqs: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.edge.base}/"

    def send(self, *deltas: tuple[str, str, dict[str, Any]], seq: int | None = None) -> list[int]:
        """Produce sequenced deltas as the worker's sequencer does (key = channel, seq +1 per channel
        unless `seq` is given); returns their seqs."""

        async def produce() -> list[int]:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=0)
            await asyncio.wait_for(producer.start(), 30)
            try:
                out = []
                for channel, event, data in deltas:
                    n = seq if seq is not None else self.seqs.get(channel, 0) + 1
                    self.seqs[channel] = max(n, self.seqs.get(channel, 0))
                    value = {
                        "channel": channel,
                        "event": event,
                        "data": data,
                        "seq": n,
                        "ts_ms": int(time.time() * 1000),
                    }
                    await asyncio.wait_for(
                        producer.send_and_wait(self.topic, json.dumps(value).encode(), key=channel.encode()), 30
                    )
                    out.append(n)
                return out
            finally:
                await producer.stop()

        return asyncio.run(produce())

    def restart(self, *, down_while: Any = None) -> None:
        port = self.edge.port
        self.edge.stop()
        if down_while is not None:
            down_while()
        edge = EdgeProcess("lone-b", self.env, self.log_dir)
        edge.port = port
        edge.log_path = self.log_dir / f"edge-lone-b-{port}.log"
        self.edge = edge
        asyncio.run(edge.start(within=60))


class DriverError(AssertionError):
    def __init__(self, message: str, state: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.state = state


class Browser:
    """tests/browser/driver.mjs: Chromium under playwright-core, one JSON command at a time."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._stderr = log_path.open("ab")
        self.proc = subprocess.Popen(
            ["node", str(BROWSER_DIR / "driver.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=BROWSER_DIR,
            env={**os.environ, "CHROMIUM": CHROMIUM},
        )
        assert self.proc.stdout is not None
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        self._buffer = b""
        self._next_id = 0
        hello = self._read_line(time.monotonic() + 30, "the Node driver to start")
        assert hello.get("type") == "ready", hello

    def _read_line(self, deadline: float, what: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what} (browser driver log: {self.log_path})")
            if not self._selector.select(left):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise AssertionError(f"the browser driver exited while waiting for {what}:\n{self.stderr_tail()}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stderr_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def call(self, op: str, *, within: float = 30.0, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self._next_id += 1
        command_id = self._next_id
        self.proc.stdin.write((json.dumps({"id": command_id, "op": op, **args}) + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + within
        while True:
            answer = self._read_line(deadline, f"the answer to {op}")
            if answer.get("id") != command_id:
                continue
            if not answer.get("ok"):
                raise DriverError(f"browser {op} failed: {answer.get('error')}", answer.get("state"))
            return answer

    def state(self, page: str) -> dict[str, Any]:
        state: dict[str, Any] = self.call("state", page=page)["state"]
        return state

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("exit", within=15)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._stderr.close()
