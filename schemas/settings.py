"""One typed settings object, read from the environment (and `.env` if present).

Every default here is a DEVELOPMENT default, safe only on a developer's own machine.
Production deployments must set at least the secrets (`PUSHER_APP_SECRET`) explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

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
    pulse_retention_days: int | None = Field(
        default=None, description="Days of state kept (older days are pruned); unset keeps every day."
    )
    publish_interval: float = Field(default=0.1, description="Seconds between checks for changed state to publish.")

    # -- websocket edge (the seed's variable names) ------------------------------------
    pusher_app_id: str = Field(default="1001", description="DEV DEFAULT app id (digits: pusher libraries need it).")
    pusher_app_key: str = Field(default="chinook-pulse-key", description="DEV DEFAULT app key.")
    pusher_app_secret: str = Field(
        default="dev-only-secret-change-me", description="DEV DEFAULT secret: set it in production."
    )
    pusher_host: str = Field(default="127.0.0.1")
    pusher_port: int = Field(default=8000)

    # -- simulator ------------------------------------------------------------------
    simulator_rate: float = Field(default=2.0, description="Store actions per second.")
    simulator_seed: int | None = Field(default=None)

    # -- local stack ----------------------------------------------------------------
    run_dir: Path = Field(default=PROJECT_ROOT / ".run", description="pids, logs and local state.")
    cache_dir: Path = Field(default=PROJECT_ROOT / ".cache", description="downloaded jars.")

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg (3) driver named for SQLAlchemy."""
        url = self.database_url
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    def cdc_topic(self, table: str) -> str:
        return f"{self.topic_prefix}.public.{table}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
