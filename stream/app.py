"""The Faust application and the topics it reads and writes.

One order, from Debezium to a dashboard:

    chinook.public.invoice / invoice_line / users   keyed by invoice id (lines too) and user id
        --(stream.owner: one Faust pass per change; rows table; per-partition sums)-->
    {WORKER_ID}.partials   one record per partition per batch: absolute values of what changed
        --(stream.merger: the owner of partition 0; merged view; seq per channel)-->
    chinook.deltas   --> api.delivery (websocket edge) --> dashboards

Edges' HTTP-API triggers reach the merger through `chinook.deltas.in`; it numbers them with the
same per-channel `seq`. The merger asks the owners for snapshots through `{WORKER_ID}.control`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import faust

from schemas.debezium import DebeziumParser
from schemas.rows import DecodingOptions
from schemas.settings import get_settings
from stream import repairs
from stream.topics import CONTROL, PARTIALS, internal_topic_name

repairs.install()  # every patch of library internals, version-checked (stream/repairs)

settings = get_settings()

#: Events the owner's queue holds (Faust's `stream_buffer_maxsize`; its default is 4,096). One fetch
#: round under a backlog brings up to 1 MiB per partition, several thousand change events; Faust
#: stops fetching a partition whose events fill 80 % of the queue and fetches it again at 40 %, so a
#: 4,096-event queue paused and resumed the partitions at every round and the owner waited for its
#: next batch most of the time. At 32,768 a backlog is read without those stops (the worker's
#: peak RSS reading a backlog: 350 MB, against 331 MB at 4,096).
WORKER_QUEUE_EVENTS = 32_768

#: Stable per worker process slot (host and web port), so a restarted worker keeps its assignment.
instance_id = settings.worker_instance or f"{socket.gethostname()}-{settings.worker_web_port}"
datadir = settings.run_dir / "faust" / settings.worker_id / instance_id
datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level

app = faust.App(
    settings.worker_id,
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="rocksdb://",  # local state with its changelog offsets: a restart reads only the changelog's tail
    datadir=str(datadir),
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=1,
    table_standby_replicas=0,  # rocksdb keeps state across restarts; a moved partition replays its changelog
    processing_guarantee="at_least_once",  # exactness comes from absolute, positioned state (docs/exactness.md)
    consumer_auto_offset_reset="earliest",
    consumer_group_instance_id=f"{settings.worker_id}-{instance_id}",  # static membership: no rebalance on restart
    broker_session_timeout=settings.worker_session_timeout,
    broker_heartbeat_interval=min(3.0, settings.worker_session_timeout / 3),
    web_port=settings.worker_web_port,
    web_bind=settings.worker_web_bind,
    web_host="127.0.0.1",
    producer_linger_ms=1,  # what a batch or tick sends is queued at once (stream.output); a wait adds latency
    broker_commit_interval=0.5,
    stream_wait_empty=False,
    stream_buffer_maxsize=WORKER_QUEUE_EVENTS,
    table_cleanup_interval=3600.0,
)

#: Decodes the CDC topics, as the connector encodes values.
cdc_parser = DebeziumParser(DecodingOptions(settings.debezium_decimal_mode, settings.debezium_timestamp_unit))

#: How long the worker's own aiokafka consumers (the merger's, its triggers', the reference data's)
#: let the broker hold a fetch with nothing to answer. A record is answered at once either way;
#: every empty answer costs the main thread a fetch round, so 500 ms made them a quarter of a
#: quiet worker's main-thread CPU (1.5-1.65 % of a core against 1.1-1.2 % at 5 s, /proc, 40 s).
IDLE_FETCH_WAIT_MS = 5_000

RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}

#: The owner's input: the co-partitioned CDC topics and the merger's snapshot requests.
owner_input = app.topic(
    settings.cdc_topic("invoice"),
    settings.cdc_topic("invoice_line"),
    settings.cdc_topic("users"),
    internal_topic_name(settings, CONTROL),
    **RAW,
)
partials = app.topic(internal_topic_name(settings, PARTIALS), **RAW)
control = app.topic(internal_topic_name(settings, CONTROL), **RAW)
deltas_in = app.topic(settings.deltas_topic + ".in", **RAW)
deltas = app.topic(settings.deltas_topic, **RAW)
dlq = app.topic(settings.dlq_topic, **RAW)


Tick = Callable[[], Awaitable[None]]


def every(seconds: float) -> Callable[[Tick], Tick]:
    """Run the decorated function every `seconds` while the worker runs, like `app.timer` (an
    exception ends the worker) but with one sleep per tick: mode's timers spend a task, a timeout
    and a cancellation on every tick, which made the quiet worker's 0.1 s checks its main cost."""

    def register(tick: Tick) -> Tick:
        async def run() -> None:
            while True:
                await asyncio.sleep(seconds)
                await tick()

        run.__name__ = run.__qualname__ = tick.__name__
        app.task(run)
        return tick

    return register
