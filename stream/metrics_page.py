"""`GET /metrics` on the worker's web port: Prometheus text from `prometheus_client`, for the metrics token.

It answers only the bearer of ``EDGE_METRICS_TOKEN`` (the same token as the edge's `/metrics`,
`settings.metrics_token`): 404 while it is unset, 401 for any other request. The registry holds the
pipeline's metrics (`stream.metrics`), Faust's (`stream.faust_sensor`) and, collected at scrape
time, the worker's state: input lag, readiness, the merger, the rebalance repairs and the SQL sink.
After `chinook-pulse rebuild` or a replay into the input topics, these show the rebuild's progress:
`pulse_input_lag_records` falls to 0, `faust_recovery_remaining_records` too, then
`pulse_state_ready` and `pulse_merger_ready` become 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas.scrape import scrape_allowed
from stream import sink
from stream.app import app, settings
from stream.faust_sensor import FaustCollector, PulseMonitor
from stream.merger import merger
from stream.metrics import REGISTRY
from stream.ownership import state_ready
from stream.reference import reference_ready
from stream.repairs import commit_guard, queue_pressure, rebalance_window
from stream.status import input_lag_by_partition


@dataclass
class WorkerState:
    """The numbers of the worker's state a scrape reports."""

    input_lag: dict[tuple[str, int], int] = field(default_factory=dict)
    state_ready: bool = False
    reference_ready: bool = False
    merger: dict[str, Any] = field(default_factory=dict)
    merger_starts: int = 0
    repairs: dict[str, int] = field(default_factory=dict)
    sink: dict[str, Any] = field(default_factory=dict)


def worker_families(state: WorkerState) -> Iterator[Metric]:
    """`state` as Prometheus metric families."""
    lag = GaugeMetricFamily(
        "pulse_input_lag_records", "Input records not yet read, per assigned partition.", labels=["topic", "partition"]
    )
    for (topic, partition), n in sorted(state.input_lag.items()):
        lag.add_metric([topic, str(partition)], float(n))
    yield lag
    yield GaugeMetricFamily(
        "pulse_state_ready", "1 when the tables of every assigned partition are recovered.", value=state.state_ready
    )
    yield GaugeMetricFamily(
        "pulse_reference_ready",
        "1 when the reference tables (customers, tracks...) are loaded.",
        value=state.reference_ready,
    )
    yield GaugeMetricFamily(
        "pulse_merger_active",
        "1 on the worker that merges and publishes (owner of partition 0).",
        value=bool(state.merger.get("active")),
    )
    yield GaugeMetricFamily(
        "pulse_merger_ready", "1 once the merger has every partition's snapshot.", value=bool(state.merger.get("ready"))
    )
    yield CounterMetricFamily(
        "pulse_merger_records_read", "Partials records the merger read.", value=state.merger.get("records_read", 0)
    )
    yield CounterMetricFamily("pulse_merger_starts", "Times this worker started the merger.", value=state.merger_starts)
    repairs = CounterMetricFamily(
        "pulse_rebalance_repairs", "Rebalance repairs made (docs/exactness.md, point 9).", labels=["repair"]
    )
    for name, n in sorted(state.repairs.items()):
        repairs.add_metric([name], float(n))
    yield repairs
    yield GaugeMetricFamily(
        "pulse_sink_pending_days", "Days the SQL sink still has to write.", value=state.sink.get("pending_days", 0)
    )
    yield CounterMetricFamily("pulse_sink_errors", "Failed SQL sink flushes.", value=state.sink.get("errors", 0))
    yield CounterMetricFamily(
        "pulse_sink_rows_upserted", "Rows the SQL sink upserted.", value=state.sink.get("rows_upserted", 0)
    )
    yield CounterMetricFamily(
        "pulse_sink_rows_sent",
        "Rows the SQL sink sent to be upserted (rows unchanged since its last write of a day are not sent).",
        value=state.sink.get("rows_sent", 0),
    )


def current_state() -> WorkerState:
    return WorkerState(
        input_lag=input_lag_by_partition(),
        state_ready=state_ready(),
        reference_ready=reference_ready.is_set(),
        merger=merger.status(),
        merger_starts=merger.starts,
        repairs={
            "holes_reread": commit_guard.holes_reread,
            "late_recoveries_held": rebalance_window.late_recoveries_held,
            "refetches_after_clear": queue_pressure.refetches_after_clear,
        },
        sink=sink.status(),
    )


class WorkerCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        return worker_families(current_state())


def _recovery_remaining() -> int:
    return int(app.tables.recovery.active_remaining_total())


app.monitor = PulseMonitor()  # before the worker starts: Faust adds it as its main sensor then
REGISTRY.register(FaustCollector(lambda: app.monitor, _recovery_remaining))
REGISTRY.register(WorkerCollector())


def metrics_answer(web: Any, authorization: str | None, token: str) -> Any:
    """The answer to a scrape: 404 without a token set, 401 without it as bearer, else the registry's text."""
    if not token:
        return web.json({"error": "Not found"}, status=404)
    if not scrape_allowed(authorization, token):
        return web.json(
            {"error": "A bearer token (EDGE_METRICS_TOKEN) is required"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return web.bytes(
        generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )


@app.page("/metrics")
async def metrics_view(web: Any, request: Any) -> Any:
    return metrics_answer(web, request.headers.get("Authorization"), settings.metrics_token)
