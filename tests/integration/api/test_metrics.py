"""The Grafana dashboard's metrics exist on a real worker and a real edge, and COMMIT->publish has samples.

A worker on its own topics (tests/support/workers.py) and an edge on its deltas topic;
an invoice committed in PostgreSQL goes through Debezium, the worker and the edge. Then both
`/metrics` are scraped (with the metrics token; without it they refuse) and every metric name the
dashboard's PromQL uses (infra/grafana/chinook-pulse.json) must be among the samples.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, delete, insert, select

from schemas.settings import PROJECT_ROOT, Settings
from tables.models import customer, invoice
from tests.support.edges import METRICS_TOKEN, EdgeFactory
from tests.support.kafka import RawTail
from tests.support.workers import Isolation, Worker, wait_ready

pytestmark = pytest.mark.integration

DASHBOARD = PROJECT_ROOT / "infra" / "grafana" / "chinook-pulse.json"
#: Metric names in PromQL: every series of the project and of prometheus_client starts so.
METRIC_NAME = re.compile(r"\b(?:pulse|faust|edge|process|python)_[a-zA-Z0-9_]*")
HISTOGRAM = "pulse_commit_to_publish_seconds"


def dashboard_metrics() -> set[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> (labels, value), as Prometheus stores them (`_total`, `_bucket`, `_count`...)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


async def scrape(base: str, token: str | None = METRICS_TOKEN) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(f"{base}/metrics", headers=headers)


async def histogram_count(worker: Worker) -> float:
    response = await scrape(worker.url)
    assert response.status_code == 200, f"worker /metrics answered {response.status_code}: {response.text[:200]}"
    return sum(value for _, value in samples(response.text).get(HISTOGRAM + "_count", []))


async def caught_up(worker: Worker, within: float) -> None:
    """Wait (bounded) until the fresh worker has read the change topics' history and its merger publishes."""
    deadline = time.monotonic() + within
    state: dict[str, float] = {}
    while True:
        response = await scrape(worker.url)
        assert response.status_code == 200, f"worker /metrics answered {response.status_code}"
        scraped = samples(response.text)
        state = {
            "lag": sum(value for _, value in scraped.get("pulse_input_lag_records", [])),
            "partitions": len(scraped.get("pulse_input_lag_records", [])),
            "merger_ready": sum(value for _, value in scraped.get("pulse_merger_ready", [])),
        }
        if state["partitions"] and state["lag"] == 0 and state["merger_ready"] == 1:
            return
        assert time.monotonic() < deadline, f"worker not caught up after {within:.0f}s: {state}\n{worker.log_tail()}"
        await asyncio.sleep(1.0)


def _values(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [v for x in data.values() for v in _values(x)]
    if isinstance(data, list):
        return [v for x in data for v in _values(x)]
    return [data]


def test_the_dashboard_queries_metrics() -> None:
    names = dashboard_metrics()
    assert len(names) >= 10, names  # the expressions were read
    assert {HISTOGRAM + "_bucket", "pulse_input_lag_records", "edge_connections"} <= names


@pytest.mark.timeout(600)  # a fresh worker reads the whole change history first (150,000 records here)
async def test_every_dashboard_metric_exists_on_a_running_worker_and_edge(
    edges: EdgeFactory, isolation: Isolation, tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    worker = Worker(isolation, tmp_path, "worker", env={"EDGE_METRICS_TOKEN": METRICS_TOKEN}).start()
    invoice_id: int | None = None
    deltas = RawTail(settings.kafka_bootstrap, isolation.deltas_topic)
    try:
        await asyncio.to_thread(wait_ready, [worker])
        edge = await edges("a", topic=isolation.deltas_topic)

        for target in (worker.url, edge.base):  # the token rule is the same on both
            assert (await scrape(target, token=None)).status_code == 401, target
            assert (await scrape(target, token="wrong")).status_code == 401, target

        await caught_up(worker, within=420)
        await deltas.start()
        before = await histogram_count(worker)
        with engine.begin() as conn:
            customer_id = conn.execute(select(customer.c.customer_id).limit(1)).scalar_one()
            invoice_id = conn.execute(
                insert(invoice)
                .values(customer_id=customer_id, invoice_date=time.strftime("%Y-%m-%d %H:%M:%S"), total="0.99")
                .returning(invoice.c.invoice_id)
            ).scalar_one()
        ours = invoice_id

        def created(key: bytes, value: Any) -> bool:
            value = value or {}
            return value.get("event") == "InvoiceCreated" and ours in _values(value.get("data"))

        await deltas.next_where(created, within=60, what=f"InvoiceCreated of invoice {ours}")
        deadline = time.monotonic() + 30
        while (after := await histogram_count(worker)) <= before:  # observed right after the publish
            assert time.monotonic() < deadline, f"{HISTOGRAM}_count stayed {after} after the invoice was published"
            await asyncio.sleep(0.2)

        await edge.wait_consumed(1, within=30)  # the edge read the worker's deltas too
        worker_response, edge_response = await scrape(worker.url), await scrape(edge.base)
        for response in (worker_response, edge_response):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
        scraped = samples(worker_response.text) | samples(edge_response.text)
        missing = sorted(dashboard_metrics() - set(scraped))
        assert not missing, f"the dashboard queries metrics no process exposes: {missing}"
        count = sum(value for _, value in scraped[HISTOGRAM + "_count"])
        assert count >= after >= 1
        buckets = {labels["le"]: value for labels, value in scraped[HISTOGRAM + "_bucket"]}
        assert buckets["+Inf"] == count
        published = scraped["pulse_deltas_published_total"]
        assert sum(value for labels, value in published if labels["channel"] == "private-admin.invoices") >= 1
    finally:
        await deltas.stop()
        worker.stop()
        if invoice_id is not None:
            with engine.begin() as conn:
                conn.execute(delete(invoice).where(invoice.c.invoice_id == invoice_id))
