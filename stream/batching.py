"""Batched processing with tables written to the right changelog partition.

Faust writes a table change to the changelog partition of the event being processed *now*. An
agent that takes a batch of events (from several partitions) and writes state once per key at the
end of the batch must say which partition each write belongs to: `writing_for(partition)` does,
and `PartitionTable` honours it. Within a batch each key's events all come from one partition
(keys are partitioned), so per-key writes at the end of a batch land where they belong.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust

from stream.app import app

#: Events per batch, and the longest a batch waits to fill (the latency a stage may add).
BATCH_SIZE = 1000
BATCH_WINDOW_S = 0.02

_partition: ContextVar[int | None] = ContextVar("pulse_write_partition", default=None)


@contextmanager
def writing_for(partition: int) -> Iterator[None]:
    token = _partition.set(partition)
    try:
        yield
    finally:
        _partition.reset(token)


class PartitionTable(faust.Table):
    """A Faust table whose changelog partition can be set with `writing_for`."""

    def partition_for_key(self, key: Any) -> int | None:
        partition = _partition.get()
        if partition is not None:
            return partition
        return super().partition_for_key(key)


def bytes_table(name: str) -> Any:
    """A changelogged table of raw bytes keys and values, registered with the app."""
    return app.tables.add(PartitionTable(app, name=name, key_type=bytes, value_type=bytes, beacon=app.tables.beacon))
