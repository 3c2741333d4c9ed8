"""The Faust application and the topics it reads and writes.

Pipeline (one invoice, from Debezium to a dashboard):

    chinook.public.invoice / invoice_line --(stream.routing)--> pulse.invoice-changes   keyed by invoice id
    pulse.invoice-changes --(stream.invoices: row state)-->     pulse.day-contributions keyed by day
                                                          -->   pulse.invoice-facts     keyed "latest"
    pulse.day-contributions --(stream.days: sales of a day)-->  chinook.deltas.in       keyed by channel
    pulse.invoice-facts --(stream.latest: newest invoices)-->   chinook.deltas.in
    chinook.public.users --(stream.routing)--> pulse.user-changes --(stream.users)--> chinook.deltas.in
    chinook.deltas.in --(stream.sequencer: seq per channel)-->  chinook.deltas --> api (websocket edge)
"""

from __future__ import annotations

import faust

from schemas.debezium import DebeziumParser
from schemas.rows import DecodingOptions
from schemas.settings import get_settings
from stream import commit_guard, fetch_rounds, producer_flush, queue_pressure, rebalance_window
from stream.topics import internal_topic_name

producer_flush.install()  # commits wait for every buffered table write (see the module)
rebalance_window.install()  # a rebalance under way is never ended by the previous one's recovery
queue_pressure.install()  # a cleared agent queue never leaves its partition unfetched
commit_guard.install()  # commits never pass an event this assignment did not process (see the module)
fetch_rounds.install()  # counted for the stall guard (stream/stall_guard.py)

settings = get_settings()
(settings.run_dir / "faust").mkdir(parents=True, exist_ok=True)  # Faust creates only the last level

app = faust.App(
    settings.worker_id,
    broker=f"kafka://{settings.kafka_bootstrap}",
    store="memory://",  # state is rebuilt from changelog topics at start-up
    datadir=str(settings.run_dir / "faust" / settings.worker_id),  # not "<id>-data" in the working directory
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=1,
    processing_guarantee="at_least_once",  # exactness comes from absolute, versioned state (docs/exactness.md)
    consumer_auto_offset_reset="earliest",
    web_port=settings.worker_web_port,
    web_bind="127.0.0.1",
    web_host="127.0.0.1",
    producer_linger_ms=5,  # batches produce requests: 1 ms made socket writes ~40% of the CPU profile
    broker_commit_interval=0.5,
    stream_wait_empty=False,
    table_cleanup_interval=3600.0,
)

#: Decodes the CDC topics (routing and the reference loader), as the connector encodes values.
cdc_parser = DebeziumParser(DecodingOptions(settings.debezium_decimal_mode, settings.debezium_timestamp_unit))

RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}

cdc_invoices = app.topic(settings.cdc_topic("invoice"), settings.cdc_topic("invoice_line"), **RAW)
cdc_users = app.topic(settings.cdc_topic("users"), **RAW)

# created before Faust starts (stream/topics.py), so every worker's first metadata has them
invoice_changes = app.topic(internal_topic_name(settings, "invoice-changes"), internal=True, **RAW)
day_contributions = app.topic(internal_topic_name(settings, "day-contributions"), internal=True, **RAW)
invoice_facts = app.topic(internal_topic_name(settings, "invoice-facts"), internal=True, **RAW)
user_changes = app.topic(internal_topic_name(settings, "user-changes"), internal=True, **RAW)

deltas_in = app.topic(settings.deltas_topic + ".in", **RAW)
deltas = app.topic(settings.deltas_topic, **RAW)
dlq = app.topic(settings.dlq_topic, **RAW)
