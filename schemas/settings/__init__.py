"""One typed settings object, read from the environment (and `.env` if present).

`Settings` holds the pipeline, worker, simulator and Pusher settings itself, and one part per
component that has many: ``edge`` (`EdgeSettings`, ``EDGE_*``), ``query`` (`QuerySettings`,
``WORKER_URLS``, ``QUERY_*``) and ``sink`` (`SinkSettings`, ``SINK_*``). Each part reads its own
variables when `Settings` is built; pass one (``Settings(edge=EdgeSettings(consume=False))``) or
`model_copy` to override it.

Every default here is a DEVELOPMENT default, safe only on a developer's own machine.
Production deployments must set at least the secrets (`PUSHER_APP_SECRET`) explicitly.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource

from schemas.settings._env import Without, env_config
from schemas.settings.edge import EdgeSettings
from schemas.settings.query import QuerySettings
from schemas.settings.sink import SinkSettings

__all__ = [
    "PROJECT_ROOT",
    "PUBLISHED_SECRET",
    "EdgeSettings",
    "QuerySettings",
    "Settings",
    "SinkSettings",
    "env_names",
    "get_settings",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The app secret written in `.env.example` (and the default): public, so never used at run time.
PUBLISHED_SECRET = "dev-only-secret-change-me"
PARTS = ("edge", "query", "sink")


class Settings(BaseSettings):
    model_config = env_config()

    # -- source database --------------------------------------------------------------
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/chinook",
        description="PostgreSQL holding the Chinook store (dev default: project-local cluster).",
    )

    # -- Kafka, Connect, Debezium ---------------------------------------------------
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers.")
    connect_url: str = Field(default="http://127.0.0.1:8083", description="Kafka Connect REST API.")
    topic_prefix: str = Field(default="chinook", description="Debezium topic.prefix.")
    topic_partitions: int = Field(default=3, description="Partitions of every CDC topic.")
    debezium_decimal_mode: Literal["auto", "precise", "string", "double"] = Field(
        default="auto",
        description="The connector's decimal.handling.mode; auto tells the modes apart by shape (schemas/rows.py).",
    )
    debezium_timestamp_unit: Literal["micros", "millis", "nanos"] = Field(
        default="micros", description="Unit of integer TIMESTAMP values (micros: time.precision.mode=adaptive)."
    )
    deltas_topic: str = Field(default="chinook.deltas")
    dlq_topic: str = Field(default="chinook.dlq")

    # -- worker ---------------------------------------------------------------------
    pulse_timezone: str = Field(default="UTC", description="Time zone of hour and day windows.")
    worker_id: str = Field(default="chinook-pulse", description="Faust app id / consumer group.")
    worker_web_port: int = Field(default=6066, description="Faust web port of the worker.")
    worker_web_bind: str = Field(
        default="127.0.0.1",
        description="Address of the worker's web port (0.0.0.0 in a container: health checks, Prometheus).",
    )
    worker_instance: str = Field(
        default="",
        description="Static group member name of this worker (unique, stable across its restarts); empty: host-port.",
    )
    worker_session_timeout: float = Field(
        default=30.0,
        description="Seconds a worker that died and did not come back holds its partitions before others take them.",
    )
    worker_read_wait_ms: int = Field(
        default=100,
        ge=1,
        le=1000,
        description=(
            "Milliseconds the worker lets changes gather in Kafka before it reads them "
            "(less: lower latency, more CPU per change)."
        ),
    )
    pulse_retention_days: int | None = Field(
        default=None, description="Days of state kept (older days are pruned); unset keeps every day."
    )
    publish_interval: float = Field(default=0.1, description="Seconds between checks for changed state to publish.")

    # -- websocket edge (the seed's variable names) ------------------------------------
    pusher_app_id: str = Field(default="1001", description="DEV DEFAULT app id (digits: pusher libraries need it).")
    pusher_app_key: str = Field(default="chinook-pulse-key", description="DEV DEFAULT app key.")
    pusher_app_secret: str = Field(
        default=PUBLISHED_SECRET,
        description=(
            "PUBLISHED, refused by the edge: `make up` generates a secret into the git-ignored .env on first use."
        ),
    )
    pusher_allow_dev_secret: bool = Field(
        default=False,
        description="DEVELOPMENT ONLY: let the edge run with the published PUSHER_APP_SECRET above.",
    )
    pusher_encryption_master_key: str = Field(
        default="",
        description=(
            "32 bytes, base64: the master key of end-to-end encrypted channels (private-encrypted-*); "
            "empty disables them. Generate one with `openssl rand -base64 32`."
        ),
    )
    pusher_host: str = Field(default="127.0.0.1")
    pusher_port: int = Field(default=8000)

    # -- simulator ------------------------------------------------------------------
    simulator_rate: float = Field(default=2.0, description="Store actions per second.")
    simulator_seed: int | None = Field(default=None)
    simulator_mix: str = Field(
        default="",
        description="Action weights over the defaults, e.g. new_invoice=80,delete_invoice=0 (see the README).",
    )

    # -- local stack ----------------------------------------------------------------
    run_dir: Path = Field(default=PROJECT_ROOT / ".run", description="pids, logs and local state.")
    cache_dir: Path = Field(default=PROJECT_ROOT / ".cache", description="downloaded jars.")

    # -- the parts: each reads its own variables --------------------------------------
    edge: Annotated[EdgeSettings, NoDecode] = Field(
        default_factory=EdgeSettings, description="The websocket edge (EDGE_*)."
    )
    query: Annotated[QuerySettings, NoDecode] = Field(
        default_factory=QuerySettings, description="The query API (WORKER_URLS, QUERY_*)."
    )
    sink: Annotated[SinkSettings, NoDecode] = Field(
        default_factory=SinkSettings, description="The worker's SQL sink (SINK_*)."
    )

    @field_validator("pusher_encryption_master_key")
    @classmethod
    def _master_key(cls, value: str) -> str:
        if value:
            try:
                raw = base64.b64decode(value, validate=True)
            except ValueError:
                raise ValueError("PUSHER_ENCRYPTION_MASTER_KEY must be base64") from None
            if len(raw) != 32:
                raise ValueError(f"PUSHER_ENCRYPTION_MASTER_KEY must decode to 32 bytes, not {len(raw)}")
        return value

    @property
    def encryption_master_key(self) -> bytes | None:
        """The raw master key of encrypted channels; None when they are disabled."""
        key = self.pusher_encryption_master_key
        return base64.b64decode(key) if key else None

    @property
    def metrics_token(self) -> str:
        """The bearer token of both `/metrics` endpoints, the edge's and the worker's (``EDGE_METRICS_TOKEN``)."""
        return self.edge.metrics_token

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, minus the parts: those come from the caller or their own variables.

        (Left in, a variable named ``EDGE``, ``QUERY`` or ``SINK`` would be read as a whole part.)
        """
        outside = (env_settings, dotenv_settings, file_secret_settings)
        return init_settings, *(Without(source, PARTS) for source in outside)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg (3) driver named for SQLAlchemy."""
        url = self.database_url
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    def published_secret_problem(self) -> str | None:
        """Why the edge must not run with these settings' secrets (one line), or None when it may."""
        if self.pusher_allow_dev_secret:
            return None
        if not self.pusher_app_secret.strip():
            return "PUSHER_APP_SECRET is empty: set it, or run `make up` to generate one into .env"
        if self.pusher_app_secret == PUBLISHED_SECRET:
            return (
                "PUSHER_APP_SECRET is the published value of .env.example: run `make up` (or `chinook-pulse "
                "secrets`) to generate one into .env, or set PUSHER_ALLOW_DEV_SECRET=true for development"
            )
        return None

    def cdc_topic(self, table: str) -> str:
        return f"{self.topic_prefix}.public.{table}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def env_names(model: type[BaseSettings] = Settings) -> set[str]:
    """Every environment variable `model` reads (upper case), those of its parts included."""
    prefix = model.model_config.get("env_prefix") or ""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            names |= env_names(field.annotation)
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias.upper())
        else:
            names.add((prefix + name).upper())
    return names
