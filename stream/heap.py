"""The imported libraries are kept out of the garbage collector's full passes.

A full (oldest-generation) collection walks every object the process holds, the libraries' modules,
classes and functions included: ~100 ms with the event loop stopped, every few seconds under
traffic. Once the worker's modules are imported, and before Faust starts, every object alive is
moved to the permanent generation (`gc.freeze`); full passes walk only what is made after that.

Rule: freeze only before Faust runs. Faust tracks messages and queues in weak sets and relies on
the collector to drop the ones in reference cycles; frozen, they would never go (a freeze after a
rebalance left a taken-over partition unread).
"""

from __future__ import annotations

import gc

#: Allocations between young collections (CPython's default is 700): fewer, equally short passes.
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Freeze every object alive now: the collector's full passes skip them from here on (call it
    before Faust starts)."""
    gc.collect()
    gc.freeze()


def tune() -> None:
    """Collect the youngest generation less often (the per-event objects die young either way)."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
