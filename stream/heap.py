"""The worker's long-lived objects are kept out of the garbage collector's full passes.

A full (oldest-generation) collection walks every object the process holds: the imported
libraries and a day of partition and merged state, hundreds of thousands of objects and ~100 ms
with the event loop stopped, every few seconds under traffic. The objects that live for the
worker's lifetime are moved to the permanent generation (`gc.freeze`) once they exist: after the
imports, after a partition state is rebuilt, after the merger's view is complete. Only what is
made after that is walked. Garbage without reference cycles is freed by reference counting as
always; frozen objects that later form unreachable cycles are kept until the process ends
(the state holds none: dicts, tuples and dataclasses of plain values).
"""

from __future__ import annotations

import gc

#: Allocations between young collections (CPython's default is 700): fewer, equally short passes.
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Freeze every object alive now: the collector's full passes skip them from here on."""
    gc.collect()
    gc.freeze()


def tune() -> None:
    """Collect the youngest generation less often (the per-event objects die young either way)."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
