"""Faults injected on purpose, so that the tests can show a repair works; off unless configured.

`PULSE_FAULT_UNFETCH=<CDC table>` (e.g. ``invoice_line``) makes the worker stop
fetching each partition of that topic once, as soon as it has read an event of it: the partition
leaves Faust's active set for its "buffer full" set, with no callback to bring it back. That is
what a lost queue-pressure callback does (`stream.repairs.queue_pressure`), and it looks exactly like the
silent stall `stream.stall_guard` exists for: nothing more is read, nothing is logged, the lag
stays. Never set it in production.
"""

from __future__ import annotations

import logging
from typing import Any

from faust.types import TP

from stream.app import app, settings

log = logging.getLogger(__name__)

#: Partitions this worker has stopped fetching on purpose.
unfetched: set[TP] = set()


def unfetch_once(consumer: Any, topic: str) -> list[TP]:
    """Stop fetching every assigned partition of `topic` that has been read and was not stopped before."""
    stopped = []
    for tp in consumer.assignment():
        if tp.topic == topic and tp not in unfetched and consumer._read_offset.get(tp) is not None:
            consumer._get_active_partitions().discard(tp)
            consumer._buffered_partitions.add(tp)
            unfetched.add(tp)
            stopped.append(tp)
    return stopped


if settings.pulse_fault_unfetch:
    _topic = settings.cdc_topic(settings.pulse_fault_unfetch)

    @app.timer(interval=0.2)
    async def inject_unfetch() -> None:
        if app.rebalancing:
            return
        for tp in unfetch_once(app.consumer, _topic):
            log.warning("fault injected (PULSE_FAULT_UNFETCH): %s is no longer fetched", tp)
