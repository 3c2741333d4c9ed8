"""Detached processes with a pid file and a log file: start, find, stop.

Every component runs in a session of its own (so it outlives `chinook-pulse up` and `make up`),
logs to `<run_dir>/logs/<name>.log` and writes `<run_dir>/<name>.pid`. A pid file is trusted only
while its process is alive *and* its command line still carries the component's marker, so a
recycled pid never gets a signal from us.

Every process a component starts, and every process those start, carries two environment
variables: the stack (its run directory) and the component's name. So whatever is left of a
component whose recorded process died (`leftovers`) is found and stopped by this stack alone,
never another stack's or a stranger's process; `port_owner` tells who really holds a port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from .errors import StackError

#: Set on every process the stack starts (inherited by their children): which stack, which component.
STACK_ENV = "CHINOOK_PULSE_STACK"
COMPONENT_ENV = "CHINOOK_PULSE_COMPONENT"


@dataclass(frozen=True)
class RunPaths:
    """Where one component keeps its pid and its log."""

    run_dir: Path
    name: str

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "logs" / f"{self.name}.log"

    @property
    def stack(self) -> str:
        """The value of STACK_ENV for this run directory."""
        return str(self.run_dir.resolve())


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie child of ours is reaped and counts as gone)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not _is_zombie(pid)


def read_pid(paths: RunPaths, marker: str) -> int | None:
    """The component's pid if its pid file names a live process that carries `marker`."""
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid <= 0 or not alive(pid) or marker not in _cmdline(pid):
        return None
    return pid


def log_tail(path: Path, lines: int = 5) -> str:
    """The last non-empty lines of a log, joined with ' | ' (for one-line errors)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def spawn(
    paths: RunPaths,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` detached (new session, stdin closed, output to the log); write the pid."""
    paths.log_file.parent.mkdir(parents=True, exist_ok=True)
    tagged_env = {**(env if env is not None else os.environ), STACK_ENV: paths.stack, COMPONENT_ENV: paths.name}
    with paths.log_file.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(command)}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=cwd,
                env=tagged_env,
                user=user,
            )
        except OSError as exc:
            raise StackError(f"{paths.name}: cannot run {command[0]}: {exc}") from exc
    paths.pid_file.write_text(f"{proc.pid}\n")
    return proc


def wait_until(
    what: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    log_file: Path | None = None,
    proc: subprocess.Popen[bytes] | None = None,
    interval: float = 0.25,
) -> None:
    """Poll `check` until it is true; StackError naming `what` (and the log) on timeout or exit."""
    deadline = time.monotonic() + timeout
    where = f", see {log_file}" if log_file else ""
    while True:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            tail = log_tail(log_file) if log_file else ""
            raise StackError(
                f"{what}: process exited with code {proc.returncode}{where}" + (f": {tail}" if tail else "")
            )
        if time.monotonic() >= deadline:
            raise StackError(f"timed out after {timeout:.0f}s waiting for {what}{where}")
        time.sleep(interval)


def stop(
    paths: RunPaths,
    marker: str,
    *,
    sig: signal.Signals = signal.SIGTERM,
    timeout: float = 30.0,
) -> bool:
    """Stop the component's process group: `sig`, a bounded wait, then SIGKILL. False if not running."""
    pid = read_pid(paths, marker)
    if pid is None:
        paths.pid_file.unlink(missing_ok=True)
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Whatever is left of its session (the process itself past the timeout, or orphaned children):
    # started with start_new_session, so the process group id is the pid.
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    kill_deadline = time.monotonic() + 5.0
    while alive(pid) and time.monotonic() < kill_deadline:
        time.sleep(0.1)
    paths.pid_file.unlink(missing_ok=True)
    return True


def describe(pid: int) -> str:
    """`pid 123 (command line)`, for messages."""
    command = _cmdline(pid).strip()
    return f"pid {pid} ({command[:80]})" if command else f"pid {pid}"


def leftovers(paths: RunPaths) -> list[int]:
    """Live processes this stack started for this component (or their children), oldest first.

    Processes of other users whose environment cannot be read are not ours to find.
    """
    found: list[tuple[float, int]] = []
    wanted = {STACK_ENV: paths.stack, COMPONENT_ENV: paths.name}
    for proc in psutil.process_iter(["pid", "create_time"]):
        try:
            environ = proc.environ()
        except (psutil.Error, OSError):
            continue
        if all(environ.get(key) == value for key, value in wanted.items()) and alive(proc.pid):
            found.append((proc.info["create_time"] or 0.0, proc.pid))
    return [pid for _, pid in sorted(found)]


def family(pid: int) -> set[int]:
    """`pid` and every process below it."""
    try:
        return {pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))}
    except psutil.Error:
        return {pid}


def port_owner(host: str, port: int) -> int | None:
    """The pid listening on TCP `host:port` (any-address listeners count), None if none or not visible."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    for conn in connections:
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr.port != port:
            continue
        if conn.laddr.ip in (host, "0.0.0.0", "::") or host in ("localhost", "0.0.0.0"):
            return conn.pid
    return None


def kill_all(pids: list[int], *, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> None:
    """`sig` to each of `pids`, a bounded wait, then SIGKILL to whatever is still alive."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    kill_deadline = time.monotonic() + 5.0
    while any(alive(pid) for pid in pids) and time.monotonic() < kill_deadline:
        time.sleep(0.1)
