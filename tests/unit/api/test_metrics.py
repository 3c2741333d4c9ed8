"""The edge's metrics: every call site names a declared series, and a scrape is valid Prometheus text."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import Metrics

API = Path(__file__).resolve().parents[3] / "api"


def call_sites() -> list[tuple[str, str, str, set[str]]]:
    """(file:line, method, metric name, label names) of every `metrics.inc/set("name", ...)` in api/."""
    sites = []
    for path in sorted(API.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            if node.func.attr not in ("inc", "set") or not (
                (isinstance(owner, ast.Attribute) and owner.attr == "metrics")
                or (isinstance(owner, ast.Name) and owner.id == "metrics")
            ):
                continue
            first = node.args[0]
            assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: metric names are literals"
            labels = {k.arg for k in node.keywords if k.arg is not None}
            sites.append((f"{path.name}:{node.lineno}", node.func.attr, str(first.value), labels))
    return sites


def test_every_call_site_names_a_declared_series_with_its_labels() -> None:
    sites = call_sites()
    assert len(sites) > 30  # the scan finds the call sites
    for where, method, name, labels in sites:
        assert name in Metrics.CATALOG, f"{where}: {name} is not in Metrics.CATALOG"
        kind, _, label_names = Metrics.CATALOG[name]
        assert kind == ("counter" if method == "inc" else "gauge"), f"{where}: {method} on a {kind}"
        assert labels == set(label_names), f"{where}: labels {labels} of {name}, declared {label_names}"


def scrape(metrics: Metrics) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples by sample name (``edge_connections`` the gauge, ``edge_connections_total`` the counter)."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def test_counters_gauges_and_collected_gauges_are_exposed() -> None:
    metrics = Metrics()
    metrics.inc("edge_messages_out_total")
    metrics.inc("edge_messages_out_total", 2.0)
    metrics.inc("edge_http_requests_total", endpoint="events", status="200")
    metrics.inc("edge_http_requests_total", status="200", endpoint="events")  # any label order: one series
    metrics.set("edge_consumer_lag", 4.0, partition="1")
    metrics.set("edge_consumer_lag", 2.0, partition="1")
    metrics.add_collector(lambda: [("edge_connections", ((), 3.0))])
    families = scrape(metrics)
    assert families["edge_messages_out_total"] == [({}, 3.0)]
    assert families["edge_http_requests_total"] == [({"endpoint": "events", "status": "200"}, 2.0)]
    assert families["edge_consumer_lag"] == [({"partition": "1"}, 2.0)]
    assert families["edge_connections"] == [({}, 3.0)]
    assert families["edge_slow_consumers_closed_total"] == [({}, 0.0)]  # unlabelled series exist from the start
    assert "process_cpu_seconds_total" in families
    assert metrics.value("edge_http_requests_total", endpoint="events", status="200") == 2.0


def test_an_undeclared_name_is_refused() -> None:
    metrics = Metrics()
    with pytest.raises(KeyError, match="edge_nonsense_total"):
        metrics.inc("edge_nonsense_total")
    metrics.add_collector(lambda: [("edge_nonsense", ((), 1.0))])
    with pytest.raises(KeyError, match="edge_nonsense"):
        metrics.render()


def test_each_edge_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.inc("edge_connections_total")
    assert scrape(two)["edge_connections_total"] == [({}, 0.0)]
    assert scrape(one)["edge_connections_total"] == [({}, 1.0)]
