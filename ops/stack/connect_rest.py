"""Kafka Connect's REST API: a connector's state and its tasks', and registering a config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from .errors import StackError


@dataclass(frozen=True)
class ConnectorState:
    """`GET /connectors/<name>/status`, boiled down."""

    connector: str
    tasks: tuple[str, ...]
    trace: str = ""

    @property
    def running(self) -> bool:
        return self.connector == "RUNNING" and bool(self.tasks) and all(t == "RUNNING" for t in self.tasks)

    @property
    def failed(self) -> bool:
        return self.connector == "FAILED" or "FAILED" in self.tasks

    def describe(self) -> str:
        tasks = ",".join(self.tasks) or "no task"
        return f"connector {self.connector}, task {tasks}"


def _trace_summary(trace: str) -> str:
    """The first line of a Java trace plus its last `Caused by:` line."""
    lines = [line.strip() for line in trace.splitlines() if line.strip()]
    if not lines:
        return ""
    causes = [line for line in lines if line.startswith("Caused by:")]
    return lines[0] + (f" ... {causes[-1]}" if causes else "")


def connector_state(connect_url: str, name: str, timeout: float = 3.0) -> ConnectorState | None:
    """The connector's state, or None if Connect does not answer or does not know it (yet)."""
    try:
        response = httpx.get(f"{connect_url.rstrip('/')}/connectors/{name}/status", timeout=timeout)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    tasks = body.get("tasks") or []
    traces = [t.get("trace", "") for t in tasks if t.get("state") == "FAILED"]
    traces.append(body.get("connector", {}).get("trace", ""))
    trace = next((_trace_summary(t) for t in traces if t), "")
    return ConnectorState(
        connector=str(body.get("connector", {}).get("state", "UNKNOWN")),
        tasks=tuple(str(t.get("state", "UNKNOWN")) for t in tasks),
        trace=trace,
    )


def put_connector_config(connect_url: str, name: str, config: dict[str, str], timeout: float = 30.0) -> None:
    """Create or update a connector (`PUT /connectors/<name>/config`, idempotent)."""
    url = f"{connect_url.rstrip('/')}/connectors/{name}/config"
    try:
        response = httpx.put(url, json=config, timeout=timeout)
    except httpx.HTTPError as exc:
        raise StackError(f"Kafka Connect at {connect_url} unreachable: {exc}") from exc
    if response.status_code not in (200, 201):
        raise StackError(f"PUT {url} -> {response.status_code}: {response.text[:300]}")
