"""Shared plumbing of the benchmarks: machine facts, processes, Kafka lag, tables and plots.

Every process a benchmark starts is started here (`Proc`) in its own session and stopped by its
own process group id, never by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
CLI = str(BIN / "chinook-pulse")


#: True while `sole_worker` has the running stack's own worker stopped (nested uses do nothing).
_stack_worker_stopped = False


@contextlib.contextmanager
def sole_worker(cli: str = CLI) -> Iterator[int | None]:
    """The bench's own worker is the only worker on the CDC topics while the block runs.

    After `make up`, the stack's worker reads the same `chinook.public.*` topics as the worker a
    benchmark starts, so it would work every bench order a second time on the same cores, which no
    deployment does. It is stopped (`chinook-pulse down --only worker`) for the block and started
    again afterwards, also when the block fails; it then catches up from its committed offsets.
    Yields the pid it stopped (None: no stack worker was running, or an outer block stopped it).
    """
    global _stack_worker_stopped
    from ops.stack.registry import by_name
    from schemas.settings import get_settings

    pid = None if _stack_worker_stopped else by_name("worker").pid(get_settings())
    if pid is None:
        yield None
        return
    print(
        f"bench: stopping the stack's own worker (pid {pid}) while the bench's worker is measured: it reads "
        "the same CDC topics and would work every bench order a second time; it is started again afterwards",
        flush=True,
    )
    down = subprocess.run([cli, "down", "--only", "worker"], capture_output=True, text=True, timeout=120)
    if down.returncode != 0:
        raise RuntimeError(f"could not stop the stack's worker: {down.stdout}{down.stderr}")
    _stack_worker_stopped = True
    try:
        yield pid
    finally:
        _stack_worker_stopped = False
        up = subprocess.run([cli, "up", "--only", "worker"], capture_output=True, text=True, timeout=300)
        state = "started again" if up.returncode == 0 else f"NOT started again: {up.stdout}{up.stderr}"
        print(f"bench: the stack's worker is {state}", flush=True)


def results_dir() -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS


def load() -> str:
    """`uptime`'s load averages (1, 5, 15 min), to print with every result."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict[str, Any]:
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "mem_mib": mem,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def raise_nofile(want: int = 65_536) -> int:
    """Raise the open-files limit of this process (inherited by its children); the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            # root may raise the hard limit too
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def spy_on(pid: int, name: str) -> subprocess.Popen[bytes]:
    """py-spy record (raw collapsed stacks per thread, `PULSE_SPY_HZ` or 50 Hz) of `pid` into
    results/NAME.pyspy.txt until `stop_spy`."""
    out = results_dir() / f"{name}.pyspy.txt"
    exe = Path(sys.executable).parent / "py-spy"
    if not exe.exists():
        raise SystemExit(f"{exe} not found: install the bench extras (`make bench` does)")
    hz = os.environ.get("PULSE_SPY_HZ", "50")
    argv = [str(exe), "record", "-p", str(pid), "--nonblocking", "--threads", "-r", hz]
    return subprocess.Popen(
        [*argv, "--format", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop_spy(spy: subprocess.Popen[bytes] | None) -> None:
    """SIGINT a `spy_on` recorder (py-spy writes its file then) and wait for it, bounded."""
    if spy is None or spy.poll() is not None:
        return
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable on a terminal)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            if v != v:
                return "-"
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
        return str(v)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in text]
    return "\n".join(out)


def save_json(name: str, data: Any) -> Path:
    path = results_dir() / name
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


# -- processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    """A child process in its own session, logging to a file; stopped by its own group id."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> Proc:
        self.log_path = results_dir() / "logs" / f"{self.name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=PROJECT_ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def tail(self, lines: int = 30) -> str:
        if self.log_path is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class CpuMeter:
    """CPU seconds and RSS of one process tree (by pid) between two readings (psutil)."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.t0 = time.monotonic()
        self.c0 = self._cpu()

    def _procs(self) -> list[Any]:
        import psutil

        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _cpu(self) -> float:
        total = 0.0
        for p in self._procs():
            with contextlib.suppress(Exception):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def rss(self) -> int:
        total = 0
        for p in self._procs():
            with contextlib.suppress(Exception):
                total += p.memory_info().rss
        return total

    def reset(self) -> None:
        self.t0, self.c0 = time.monotonic(), self._cpu()

    def cpu_fraction(self) -> float:
        """CPU seconds per wall second since the last reset (1.0 = one core busy)."""
        wall = time.monotonic() - self.t0
        return (self._cpu() - self.c0) / wall if wall > 0 else float("nan")


# -- fan-out records ----------------------------------------------------------------------

FANOUT_CHANNEL = "private-bench"
_PAD = "x" * 200  # a delta of realistic size (~300 B frame)


def fanout_record(i: int, t: float | None = None) -> bytes:
    """The `i`-th delta of the fan-out bench (seq i + 1), carrying its send time `t` (wall clock; default now).

    A pump passes the time the record was *due* on its schedule, so a server that falls behind its
    own pump shows that delay in the latency too.
    """
    import orjson

    value = {
        "channel": FANOUT_CHANNEL,
        "event": "SaleCompleted",
        "data": {"t": time.time() if t is None else t, "i": i, "pad": _PAD},
        "seq": i + 1,
        "ts_ms": int(time.time() * 1000),
    }
    return orjson.dumps(value)


def pump_plan(control: str | None, rate: float, seconds: float) -> tuple[float, float]:
    """The (rate, seconds) of the next local pump: from the ``control`` file ("RATE SECONDS") if given."""
    if control is None:
        return rate, seconds
    m, s = Path(control).read_text().split()
    return float(m), float(s)


async def paced(rate: float, seconds: float) -> AsyncIterator[int]:
    """0, 1, ... int(rate * seconds) - 1, each yielded at its time on a fixed schedule from the start."""
    async for i, _ in scheduled(rate, seconds):
        yield i


async def scheduled(rate: float, seconds: float) -> AsyncIterator[tuple[int, float]]:
    """As `paced`, with the wall time each one was due (late ones come at once, with their due time)."""
    began, began_wall = time.monotonic(), time.time()
    for i in range(int(rate * seconds)):
        delay = began + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield i, began_wall + i / rate


# -- Kafka --------------------------------------------------------------------------------


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 3) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await asyncio.wait_for(admin.start(), 30)
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await asyncio.wait_for(admin.create_topics(new), 60)
    finally:
        await admin.close()


async def delete_topics_with_prefix(bootstrap: str, prefixes: Sequence[str]) -> int:
    """Delete every topic whose name contains one of `prefixes` (the bench's own, unique names)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await asyncio.wait_for(admin.start(), 30)
    try:
        names = [t for t in await admin.list_topics() if any(p in t for p in prefixes)]
        if names:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(admin.delete_topics(names), 60)
        return len(names)
    finally:
        await admin.close()


class LagMonitor:
    """Committed offsets of a consumer group against the end offsets of every topic it commits on."""

    def __init__(self, bootstrap: str, group: str, required_topics: Sequence[str]) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.required = set(required_topics)
        self.admin: Any = None
        self.consumer: Any = None

    async def start(self) -> LagMonitor:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        self.admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=30_000)
        await asyncio.wait_for(self.admin.start(), 30)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False)
        await asyncio.wait_for(self.consumer.start(), 30)
        return self

    async def stop(self) -> None:
        if self.admin is not None:
            await self.admin.close()
        if self.consumer is not None:
            await self.consumer.stop()

    async def lag(self) -> tuple[int, int, set[str]]:
        """(total lag, total committed, topics seen) over the group's committed partitions."""
        committed = await self.admin.list_consumer_group_offsets(self.group)
        tps = [tp for tp in committed if not tp.topic.startswith("__")]
        seen = {tp.topic for tp in tps}
        if not tps:
            return -1, 0, seen
        ends = await self.consumer.end_offsets(tps)
        lag = sum(max(0, ends[tp] - committed[tp].offset) for tp in tps if committed[tp].offset >= 0)
        lag += sum(ends[tp] for tp in tps if committed[tp].offset < 0)
        done = sum(max(0, committed[tp].offset) for tp in tps if tp.topic in self.required)
        return lag, done, seen

    async def until_drained(
        self, total_input: int, proc: Proc, timeout_s: float, poll_s: float = 0.25, stable: int = 3
    ) -> dict[str, float]:
        """Poll until the required topics are committed to `total_input` and every lag is 0.

        Returns wall times (monotonic): `first` (first committed progress), `end` (lag 0 first seen
        in the final stable streak) and the samples of progress for plotting.
        """
        began = time.monotonic()
        first: float | None = None
        end: float | None = None
        streak = 0
        samples: list[tuple[float, int]] = []
        while True:
            now = time.monotonic()
            if now - began > timeout_s:
                raise TimeoutError(f"{self.group}: not drained after {timeout_s:.0f}s\n{proc.tail()}")
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
            try:
                lag, done, seen = await self.lag()
            except Exception:  # group not yet known
                lag, done, seen = -1, 0, set()
            samples.append((now, done))
            if done > 0 and first is None:
                first = now
            if lag == 0 and done >= total_input and self.required <= seen:
                streak += 1
                if end is None:
                    end = now
                if streak >= stable:
                    break
            else:
                streak, end = 0, None
            await asyncio.sleep(poll_s)
        assert first is not None and end is not None
        return {"first": first, "end": end, "began": began, "samples": samples}  # type: ignore[dict-item]


# -- plots ---------------------------------------------------------------------------------


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
