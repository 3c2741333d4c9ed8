"""Everything one edge process holds: settings, connections, channels, history, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from api.bus import Bus, LocalBus
from api.channels import ChannelRegistry
from api.connection import Connection, Outbox
from api.history import EncodedDelta, HistoryStore
from api.metrics import Metrics, Sample, channel_label
from api.ratelimit import KeyedBuckets, OncePer
from api.terminate import Control, Grants, LocalControl
from api.tokens import TokenStore
from api.triggers import TriggerSink
from api.webhooks import Webhooks
from schemas.settings import EdgeSettings, Settings


@dataclass(eq=False)
class Edge:
    settings: Settings
    tokens: TokenStore
    sink: TriggerSink
    metrics: Metrics = field(default_factory=Metrics)
    registry: ChannelRegistry = field(default_factory=ChannelRegistry)
    connections: dict[str, Connection] = field(default_factory=dict)
    consumer_state: str = "stopped"
    control: Control | None = None  # where terminate orders go; None: this edge only
    bus: Bus = field(default_factory=LocalBus)
    webhooks: Webhooks | None = None  # when EDGE_WEBHOOK_URLS is set (api/app.py)

    def __post_init__(self) -> None:
        self.history = HistoryStore(self.config.history_size, self.config.history_max_channels)
        self.ready = asyncio.Event()
        self.metrics.add_collector(self._collect)
        self.auth_failures = KeyedBuckets(self.config.auth_failure_rate, self.config.auth_failure_burst)
        self.bad_input_log = OncePer(self.config.bad_input_log_interval)
        if self.control is None:
            self.control = LocalControl(self)
        self.outbox = Outbox(self.metrics)  # writes the raw connections' queues once per loop turn
        self.grants = Grants()  # who each signature of /broadcasting/auth was given to
        self.control_ready = asyncio.Event()  # set once this edge applies terminate orders (api.terminate)

    @property
    def config(self) -> EdgeSettings:
        """The edge's part of the settings (``settings.edge``)."""
        return self.settings.edge

    def apply(self, delta: EncodedDelta) -> int:
        """Record a delta and queue its frame to this edge's subscribers; the number queued.

        Runs without awaiting anything, so a subscribe (which also never awaits between joining the
        channel and queueing its replay) sees each delta either in its replay or live, never both.
        """
        if not self.history.append(delta):
            self.metrics.inc("edge_deltas_duplicate_total")
            return 0
        return self.registry.publish(delta.channel, delta.out, exclude=delta.exclude_socket_id)

    def channel_counts(self, name: str) -> tuple[int, int]:
        """Subscriptions and presence members of ``name`` on this edge."""
        channel = self.registry.get(name)
        if channel is None:
            return 0, 0
        return len(channel.subscribers), len(channel.members)

    def _collect(self) -> Iterable[tuple[str, Sample]]:
        yield "edge_connections", ((), float(len(self.connections)))
        yield "edge_history_ready", ((), 1.0 if self.ready.is_set() else 0.0)
        by_label: dict[str, int] = {}
        for name, count in self.registry.subscription_counts().items():
            label = channel_label(name)
            by_label[label] = by_label.get(label, 0) + count
        for label, count in by_label.items():
            yield "edge_subscriptions", ((("channel", label),), float(count))
