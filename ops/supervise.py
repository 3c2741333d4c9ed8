"""Keep a command running: start it again whenever it exits without being asked to.

The worker crashes on purpose when it cannot keep its state exact (a revoke whose writes do not
reach Kafka in time, `stream/batching.py`): a fresh process recovers from the changelogs and
reprocesses from the last good commit. Under `chinook-pulse up` something has to start it again; this does,
with a pause that doubles after each quick failure (1 s up to 30 s) so a worker that cannot start
does not spin. SIGTERM or SIGINT to the supervisor is passed on to the command, and the supervisor
exits with it.

The command never outlives its supervisor: it is started with the kernel's parent-death signal
(Linux `prctl(PR_SET_PDEATHSIG)`), so even a SIGKILLed supervisor takes its command down (SIGTERM:
the worker shuts down as on `chinook-pulse down`). `chinook-pulse up` stops anything still left.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

#: A run longer than this resets the pause to its first step.
STABLE_AFTER_S = 60.0
FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 30.0


def restart_pause(quick_failures: int) -> float:
    """Seconds to wait before the next start, after `quick_failures` failures in a row (>= 1)."""
    return min(LONGEST_PAUSE_S, FIRST_PAUSE_S * 2 ** max(0, quick_failures - 1))


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn`: the child gets `sig` when this process dies, however it dies (Linux only).

    If this process is already gone by the time the child runs it, the child exits at once.
    """
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

    def preexec() -> None:
        if libc is None:
            return
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            os._exit(127)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def _say(name: str, text: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] supervisor: {name} {text}", file=sys.stderr, flush=True)


def supervise(command: Sequence[str], name: str) -> int:
    """Run `command` until the supervisor is told to stop; return the command's last exit code."""
    stopping: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    quick_failures = 0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(list(command), preexec_fn=die_with_parent())
        _say(name, f"started (pid {child.pid})")
        code = child.wait()
        if stopping:
            _say(name, f"stopped (exit code {code})")
            return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code
        quick_failures = 1 if time.monotonic() - started >= STABLE_AFTER_S else quick_failures + 1
        pause = restart_pause(quick_failures)
        _say(name, f"exited with code {code}; starting it again in {pause:.0f} s")
        deadline = time.monotonic() + pause
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return 0
