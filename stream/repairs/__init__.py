"""Every change the worker makes to faust-streaming's (and aiokafka's) internals, installed in one place.

Each repair was written against the versions pinned here (and in pyproject.toml) and is checked at
start-up: another version refuses to start, so an upgrade is a deliberate act that re-runs the
tests each repair has (tests/unit/stream/repairs/).

- `commit_guard`: commits never pass an event this assignment did not process;
- `rebalance_window`: a rebalance under way is never ended by the previous one's recovery;
- `queue_pressure`: a cleared agent queue never leaves its partition unfetched;
- `static_leave`: a static group member that stops cleanly leaves the group (hands over at once);
- `table_start`: the table manager starts without Faust's fixed one-second pause (restarts are quicker);
- `fetch_wait`: the consumer reads in rounds of `WORKER_READ_WAIT_MS`: quiet partitions never hold
  up busy ones, and small writes are read together;
- `drain_step`: the fetch loop hands an event to the agents in place, not through four tasks;
- `active_set`: with no partition active, a fetch drains none (aiokafka would drain them all).
"""

from __future__ import annotations

from importlib.metadata import version

#: The versions the repairs were written against.
PINNED = {"faust-streaming": "0.15.3", "mode-streaming": "0.7.1", "aiokafka": "0.14.0"}


def check_versions(installed: dict[str, str] | None = None) -> None:
    """Raise if an installed package is not the version the repairs were written against."""
    found = installed or {name: version(name) for name in PINNED}
    wrong = [
        f"{name} {found.get(name)} (the repairs need {want})"
        for name, want in PINNED.items()
        if found.get(name) != want
    ]
    if wrong:
        raise RuntimeError("stream/repairs patches library internals; installed: " + ", ".join(wrong))


def install() -> None:
    check_versions()
    from stream.repairs import (
        active_set,
        commit_guard,
        drain_step,
        fetch_wait,
        queue_pressure,
        rebalance_window,
        static_leave,
        table_start,
    )

    rebalance_window.install()
    queue_pressure.install()
    commit_guard.install()
    static_leave.install()
    table_start.install()
    fetch_wait.install()
    drain_step.install()
    active_set.install()
