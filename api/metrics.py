"""Prometheus text exposition of the edge's counters and gauges, and who may read it.

Series stay bounded whatever clients do: channels are labelled by family (`channel_label`), and
`/metrics` answers only a request carrying ``EDGE_METRICS_TOKEN`` as its bearer token (404 when no
token is set).
"""

from __future__ import annotations

import hmac
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

#: Channels the worker publishes: each has its own series.
KNOWN_CHANNELS = frozenset(
    {"private-admin.sales", "private-admin.invoices", "private-admin.users", "private-admin.tracks"}
)
#: Every other channel is counted under the first family it belongs to.
FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.ASCII), label)
    for pattern, label in (
        (r"private-user\.[0-9]+", "private-user.*"),
        (r"presence-dashboard(?:\..*)?", "presence-dashboard*"),
        (r"private-admin\..*", "private-admin.*"),
        (r"private-encrypted-.*", "private-encrypted-*"),
        (r"private-.*", "private-*"),
        (r"presence-.*", "presence-*"),
        (r"cache-.*", "cache-*"),
    )
)


def channel_label(channel: str) -> str:
    """The ``channel`` label of a channel's series: its own name only for `KNOWN_CHANNELS`."""
    if channel in KNOWN_CHANNELS:
        return channel
    for pattern, label in FAMILIES:
        if pattern.fullmatch(channel):
            return label
    return "public"


def scrape_allowed(authorization: str | None, token: str) -> bool:
    """True when ``Authorization`` is ``Bearer <token>`` (compared in constant time) and a token is set."""
    if not token or authorization is None:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


Sample = tuple[tuple[tuple[str, str], ...], float]


class Metrics:
    """Counters the edge increments, plus gauges collected at scrape time."""

    HELP: dict[str, tuple[str, str]] = {
        "edge_connections": ("gauge", "Open websocket connections."),
        "edge_connections_total": ("counter", "Websocket connections accepted."),
        "edge_connections_refused_total": ("counter", "Websocket connections refused, by reason."),
        "edge_subscriptions": ("gauge", "Subscriptions per channel on this edge."),
        "edge_messages_in_total": ("counter", "Frames received from clients."),
        "edge_messages_out_total": ("counter", "Frames written to clients."),
        "edge_drops_total": ("counter", "Frames not delivered, by reason."),
        "edge_slow_consumers_closed_total": ("counter", "Connections closed with 4200 (send queue full)."),
        "edge_connections_aborted_total": ("counter", "Sockets dropped after their close frame timed out."),
        "edge_errors_total": ("counter", "pusher:error frames sent, by code."),
        "edge_deltas_consumed_total": ("counter", "Records consumed from the deltas topic."),
        "edge_deltas_invalid_total": ("counter", "Deltas records that could not be decoded."),
        "edge_deltas_duplicate_total": ("counter", "Deltas records with an already-seen seq."),
        "edge_consumer_lag": ("gauge", "Records behind the high watermark, per partition."),
        "edge_history_ready": ("gauge", "1 once the history refill has caught up."),
        "edge_http_requests_total": ("counter", "Pusher HTTP API requests, by endpoint and status."),
        "edge_auth_requests_total": ("counter", "Channel authorization requests, by status."),
        "edge_auth_failures_total": ("counter", "Failed authentications (any endpoint)."),
        "edge_bad_input_total": ("counter", "Requests and frames refused as bad input."),
        "edge_terminated_total": ("counter", "Connections closed because their user was cut off, by reason."),
    }

    def __init__(self) -> None:
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._collectors: list[Callable[[], Iterable[tuple[str, Sample]]]] = []

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items())) if labels else ()  # unlabelled: once per frame written
        series = self._counters[name]
        series[key] = series.get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self._counters[name][tuple(sorted(labels.items()))] = value

    def value(self, name: str, **labels: str) -> float:
        return self._counters.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def add_collector(self, collector: Callable[[], Iterable[tuple[str, Sample]]]) -> None:
        self._collectors.append(collector)

    def render(self) -> str:
        series: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        for name, values in self._counters.items():
            series[name].update(values)
        for collector in self._collectors:
            for name, (labels, value) in collector():
                series[name][labels] = value
        lines: list[str] = []
        for name in sorted(set(series) | set(self.HELP)):
            kind, text = self.HELP.get(name, ("untyped", name))
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in sorted(series.get(name, {}).items()):
                number = int(value) if float(value).is_integer() else value
                lines.append(f"{name}{_labels(labels)} {number}")
        return "\n".join(lines) + "\n"
