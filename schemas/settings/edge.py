"""The websocket edge's part of the settings (`Settings.edge`): variables ``EDGE_*``.

Every default here is a DEVELOPMENT default. Lists accept JSON (``["a","b"]``) or comma-separated
text (``a,b``). The Pusher app id/key/secret, host and port are top-level settings (``PUSHER_*``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

from schemas.settings._env import env_config, split_list


class EdgeSettings(BaseSettings):
    model_config = env_config("EDGE_")

    # -- who may connect ---------------------------------------------------------------
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default=["localhost", "127.0.0.1", "chinook-admin.test"],
        description=(
            "DEV DEFAULT. Browser origins allowed to open a websocket: '*' (any), a host ('localhost', any "
            "port), 'host:port', a full origin ('https://admin.example.com') or '*.example.com'. A request "
            "without an Origin header (not a browser) is allowed."
        ),
    )
    max_connections: int = Field(default=10_000, description="Open websockets per edge process (4100 beyond).")
    max_message_bytes: int = Field(default=10_240, description="Largest client frame handled (bytes).")
    per_message_deflate: bool = Field(
        default=False,
        description=(
            "Offer permessage-deflate (websocket compression). Off: every broadcast frame would be "
            "compressed again for each connection (~40 KiB of zlib state per connection too); pusher-js "
            "works without it."
        ),
    )

    # -- liveness ----------------------------------------------------------------------
    activity_timeout: int = Field(default=120, description="Seconds, told to clients in the handshake.")
    pong_timeout: float = Field(default=30.0, description="Seconds to answer our pusher:ping (4201 after).")
    close_timeout: float = Field(default=10.0, description="Seconds to wait for a close frame to be written.")

    # -- per-connection limits -------------------------------------------------------------
    send_queue_max: int = Field(default=1_000, description="Frames queued per connection (4200 beyond).")
    message_rate: float = Field(default=50.0, description="Client frames per second per connection (4301).")
    message_burst: int = Field(default=100)
    client_event_rate: float = Field(default=10.0, description="client-* events per second per connection.")
    client_event_burst: int = Field(default=10)
    client_events_channels: Annotated[list[str], NoDecode] = Field(
        default=[],
        description=(
            "fnmatch patterns of private-/presence- channels on which client-* events are allowed; empty "
            "disables client events (as laravel-websockets' enable_client_messages=false)."
        ),
    )
    presence_max_members: int = Field(default=100)
    max_subscriptions: int = Field(default=100, description="Channels one connection may subscribe to (4300 beyond).")

    # -- history, resume, delivery ---------------------------------------------------------
    consume: bool = Field(default=True, description="Consume the deltas topic (off only in unit tests).")
    history_size: int = Field(default=1_000, description="Events kept per channel for resume.")
    history_max_channels: int = Field(default=10_000, description="Channels with history (LRU beyond).")
    refill_records_per_partition: int = Field(
        default=100_000, description="Records read back from each deltas partition when an edge starts."
    )
    ready_wait: float = Field(
        default=5.0, description="Seconds a subscribe waits for the history refill before going ahead."
    )
    triggers_topic: str = Field(default="chinook.deltas.in", description="Where HTTP-API triggers go.")
    control_topic: str = Field(
        default="chinook.edge.control",
        description="Orders every edge applies (terminate_connections); created by the edge if missing.",
    )
    bus_topic: str = Field(
        default="chinook.edge.bus",
        description="Edge-to-edge messages (user events, occupancy): every edge reads it from its end (api/bus.py).",
    )

    # -- HTTP API -------------------------------------------------------------------------
    http_max_body_bytes: int = Field(default=262_144)
    http_max_event_bytes: int = Field(default=10_240, description="Pusher's 10 KB limit on event data.")
    http_max_channels: int = Field(default=100)
    http_max_batch: int = Field(default=10)
    http_timestamp_skew: int = Field(default=600, description="Seconds auth_timestamp may be off.")
    auth_max_body_bytes: int = Field(default=8_192, description="Largest /broadcasting/auth body (413 beyond).")
    max_json_depth: int = Field(default=32, description="Deepest nesting of a JSON body or frame (400 beyond).")

    # -- abuse -----------------------------------------------------------------------------
    auth_failure_rate: float = Field(
        default=1.0, description="Failed authentications per second per client address (429 beyond the burst)."
    )
    auth_failure_burst: int = Field(default=20)
    bad_input_log_interval: float = Field(
        default=60.0, description="Seconds between two log lines about one client's bad input."
    )
    revocation_poll: float = Field(
        default=2.0, description="Seconds between checks that the tokens of open connections are still valid."
    )

    # -- metrics ---------------------------------------------------------------------------
    metrics_token: str = Field(
        default="",
        description=(
            "Bearer token the edge's and the worker's /metrics ask for (Prometheus sends it: infra/prometheus/); "
            "empty: /metrics answers 404. `make up` generates one into .env."
        ),
    )

    # -- webhooks (api/webhooks.py) ---------------------------------------------------------
    webhook_urls: Annotated[list[str], NoDecode] = Field(
        default=[],
        description=(
            "URLs that get Pusher webhooks (channel_occupied/vacated, member_added/removed, client_event), "
            "signed with the app secret; empty (the default) sends none."
        ),
    )
    webhook_queue_max: int = Field(default=10_000, description="Webhook events waiting to be sent (dropped beyond).")
    webhook_batch_max: int = Field(default=50, description="Events per webhook request at most.")
    webhook_batch_delay: float = Field(default=0.1, description="Seconds events gather before a request goes.")
    webhook_attempts: int = Field(default=8, description="Tries per request (backoff 0.5 s doubling, 30 s at most).")
    webhook_timeout: float = Field(default=5.0, description="Seconds one webhook request may take.")

    @field_validator("allowed_origins", "client_events_channels", "webhook_urls", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return split_list(value)
