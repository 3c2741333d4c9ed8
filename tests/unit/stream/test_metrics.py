"""The worker's metrics: COMMIT->publish observed per record, bounded labels, Faust's and the worker's state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from faust.sensors.monitor import Monitor
from faust.types import TP
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from stream import metrics, metrics_page
from stream.faust_sensor import faust_families
from stream.metrics import COMMIT_FIELD, PublishLatency, delta_published
from stream.metrics_page import WorkerState, worker_families
from stream.owner import INVOICE_TOPIC, take_batch
from tables.partition_state import PartitionState
from tests.support.envelopes import MessageBuilder


def histogram() -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    return registry, Histogram("t_seconds", "test", buckets=metrics.LATENCY_BUCKETS, registry=registry)


def observed(registry: CollectorRegistry) -> tuple[float, float]:
    count = registry.get_sample_value("t_seconds_count") or 0.0
    total = registry.get_sample_value("t_seconds_sum") or 0.0
    return count, total


def test_records_with_events_are_observed_when_their_events_are_published() -> None:
    registry, h = histogram()
    now = [1_000.000]
    latency = PublishLatency(h, clock=lambda: now[0])
    latency.applied({COMMIT_FIELD: 999_800}, has_events=True)  # committed 200 ms before now
    latency.applied({COMMIT_FIELD: 999_900}, has_events=False)
    latency.events_published()
    assert observed(registry) == (1.0, 0.2)
    now[0] = 1_000.050
    latency.state_published()  # the state-only record: at the tick, 150 ms after its commit
    count, total = observed(registry)
    assert count == 2.0 and abs(total - 0.35) < 1e-9
    latency.state_published()
    assert observed(registry)[0] == 2.0  # each record once


def test_snapshots_and_records_without_a_commit_time_are_not_observed() -> None:
    registry, h = histogram()
    latency = PublishLatency(h, clock=lambda: 1_000.0)
    latency.applied({"p": 0, "snap": "x"}, has_events=False)
    latency.applied({COMMIT_FIELD: None}, has_events=True)
    latency.applied({COMMIT_FIELD: "999000"}, has_events=True)  # not an int: ignored, not trusted
    latency.state_published()
    assert observed(registry) == (0.0, 0.0)


def test_a_clock_behind_the_source_counts_zero_not_negative() -> None:
    registry, h = histogram()
    latency = PublishLatency(h, clock=lambda: 1_000.0)
    latency.applied({COMMIT_FIELD: 1_000_500}, has_events=True)
    latency.events_published()
    assert observed(registry) == (1.0, 0.0)


def test_waiting_records_are_bounded() -> None:
    _, h = histogram()
    latency = PublishLatency(h, clock=lambda: 1_000.0)
    for _ in range(metrics.MAX_WAITING + 50):
        latency.applied({COMMIT_FIELD: 999_000}, has_events=False)
    assert len(latency.state_only) == metrics.MAX_WAITING


def test_deltas_are_counted_per_channel_family() -> None:
    for i in range(500):
        delta_published(f"flood-{i}")
    delta_published("private-admin.sales")
    text = generate_latest(metrics.REGISTRY).decode()
    series = [line for line in text.splitlines() if line.startswith("pulse_deltas_published_total{")]
    assert 'pulse_deltas_published_total{channel="public"}' in " ".join(series)
    assert 'channel="private-admin.sales"' in " ".join(series)
    assert not any("flood" in line for line in series)


def event(topic: str, partition: int, key: bytes, value: bytes) -> Any:
    return SimpleNamespace(message=SimpleNamespace(topic=topic, partition=partition, key=key, value=value))


def invoice(invoice_id: int, total: str) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "customer_id": 1,
        "invoice_date": datetime(2026, 12, 2, 10, 0),
        "billing_country": "Norway",
        "total": Decimal(total),
    }


def test_the_owner_stamps_each_record_with_its_oldest_commit() -> None:
    build = MessageBuilder()
    first = build.change("invoice", "c", None, invoice(1, "1.98"), lsn=100, commit_lsn=90, ts_ms=1_700_000_000_000)
    later = build.change(
        "invoice", "u", invoice(1, "1.98"), invoice(1, "2.97"), lsn=200, commit_lsn=190, ts_ms=1_700_000_000_500
    )
    snap = build.change(
        "invoice", "r", None, invoice(2, "0.99"), lsn=50, commit_lsn=None, ts_ms=1_600_000_000_000, snapshot="true"
    )
    states = {0: PartitionState(0, "UTC"), 1: PartitionState(1, "UTC")}
    batch = take_batch(
        [event(INVOICE_TOPIC, 0, *first), event(INVOICE_TOPIC, 0, *later), event(INVOICE_TOPIC, 1, *snap)], states, {}
    )
    assert batch.records[0][COMMIT_FIELD] == 1_700_000_000_000
    assert batch.records[1][COMMIT_FIELD] is None  # a snapshot row has no COMMIT to measure from
    assert metrics.commit_time(batch.records[0]) == 1_700_000_000_000


def parsed(families: Any) -> dict[str, Any]:
    registry = CollectorRegistry()

    class Once:
        def collect(self) -> Any:
            return families

    registry.register(Once())  # type: ignore[arg-type]
    return {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}


async def test_faust_numbers_come_from_its_monitor() -> None:
    monitor = Monitor()
    tp = TP(INVOICE_TOPIC, 2)
    message = SimpleNamespace(time_in=None, time_out=None, time_total=None)
    monitor.on_message_in(tp, 41, message)  # type: ignore[arg-type]
    monitor.track_tp_end_offset(tp, 50)
    monitor.on_tp_commit({tp: 42})
    families = parsed(faust_families(monitor, recovery_remaining=7))
    assert families["faust_messages_received"].samples[0].value == 1.0
    read = families["faust_topic_partition_read_offset"].samples[0]
    assert read.labels == {"topic": INVOICE_TOPIC, "partition": "2"} and read.value == 41.0
    assert families["faust_topic_partition_end_offset"].samples[0].value == 50.0
    assert families["faust_topic_partition_committed_offset"].samples[0].value == 42.0
    assert families["faust_recovery_remaining_records"].samples[0].value == 7.0


def test_worker_state_families() -> None:
    state = WorkerState(
        input_lag={(INVOICE_TOPIC, 0): 12},
        state_ready=True,
        reference_ready=True,
        merger={"active": True, "ready": False, "records_read": 9},
        merger_starts=2,
        repairs={"holes_reread": 1},
        sink={"pending_days": 3, "errors": 0, "rows_upserted": 40, "rows_sent": 55},
    )
    families = parsed(worker_families(state))
    lag = families["pulse_input_lag_records"].samples[0]
    assert lag.labels == {"topic": INVOICE_TOPIC, "partition": "0"} and lag.value == 12.0
    assert families["pulse_merger_active"].samples[0].value == 1.0
    assert families["pulse_merger_ready"].samples[0].value == 0.0
    assert families["pulse_merger_records_read"].samples[0].value == 9.0
    assert families["pulse_rebalance_repairs"].samples[0].labels == {"repair": "holes_reread"}
    assert families["pulse_sink_pending_days"].samples[0].value == 3.0
    assert families["pulse_sink_rows_sent"].samples[0].value == 55.0


def test_the_worker_registry_renders_every_family() -> None:
    names = {f.name for f in text_string_to_metric_families(generate_latest(metrics.REGISTRY).decode())}
    assert {"pulse_commit_to_publish_seconds", "pulse_deltas_published", "pulse_dead_letters"} <= names
    assert {"faust_messages_received", "faust_consumer_commit_latency_seconds", "faust_rebalances"} <= names
    assert {"pulse_input_lag_records", "pulse_state_ready", "pulse_merger_ready", "process_cpu_seconds"} <= names


class FakeWeb:
    """The two answers `metrics_view` gives, recorded."""

    def json(self, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
        return ("json", status, value, headers or {})

    def bytes(self, value: bytes, headers: dict[str, str] | None = None) -> Any:
        return ("bytes", 200, value, headers or {})


async def test_the_worker_metrics_page_answers_only_the_token() -> None:
    for given in (None, "Bearer ", "Bearer x"):
        assert metrics_page.metrics_answer(FakeWeb(), given, token="")[:2] == ("json", 404)
    token = "worker-" + "a" * 20
    for given in (None, "Bearer wrong", f"Basic {token}"):
        kind, status, _, headers = metrics_page.metrics_answer(FakeWeb(), given, token)
        assert (kind, status, headers.get("WWW-Authenticate")) == ("json", 401, "Bearer")
    kind, status, body, headers = metrics_page.metrics_answer(FakeWeb(), f"Bearer {token}", token)
    assert (kind, status) == ("bytes", 200)
    assert headers["Content-Type"].startswith("text/plain")
    assert b"pulse_commit_to_publish_seconds_bucket" in body


def test_the_dead_letter_counter_shows_every_input_topic_at_zero_before_any_dead_letter() -> None:
    from prometheus_client import generate_latest

    from stream import dead_letters, reference  # noqa: F401  (they declare the worker's input topics)
    from stream.app import settings
    from stream.metrics import REGISTRY

    text = generate_latest(REGISTRY).decode()
    for table in ("invoice", "invoice_line", "users", "track"):
        assert f'pulse_dead_letters_total{{topic="{settings.cdc_topic(table)}"}}' in text
