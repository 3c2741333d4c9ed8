"""Counts the fetch rounds of Faust's consumer: how often it has asked the fetcher for records.

A round is one call of `Consumer._wait_next_records`: Faust takes what aiokafka has fetched for
its active partitions, hands every record on, then starts the next round. `stream.stall_guard`
uses the count to tell a partition no fetch includes any more from one whose records wait for
the next round while a big one is still being handed on.
"""

from __future__ import annotations

from typing import Any

from faust.transport.consumer import Consumer

#: Rounds started since the worker started.
started = 0

_original_wait_next_records = Consumer._wait_next_records


async def _counting_wait_next_records(self: Any, timeout: float) -> Any:  # noqa: ASYNC109 (Faust's signature)
    global started
    started += 1
    return await _original_wait_next_records(self, timeout)


def install() -> None:
    """Patch Faust's consumer (before the app's consumer starts)."""
    Consumer._wait_next_records = _counting_wait_next_records
