"""The SQL sink's part of the settings (`Settings.sink`): variables ``SINK_*``.

Every default is a DEVELOPMENT default. The target schema is ``SINK_SCHEMA`` (the field is
``schema_name``: ``schema`` would shadow a pydantic attribute); how an unset schema is resolved is
`stream.sink.target_schema`'s business.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from schemas.settings._env import env_config


class SinkSettings(BaseSettings):
    model_config = env_config("SINK_")

    enabled: bool = Field(default=True, description="Write windows into PostgreSQL.")
    schema_name: str | None = Field(
        default=None,
        validation_alias="SINK_SCHEMA",
        description="Target schema; unset: `analytics` for WORKER_ID=chinook-pulse, off for other groups.",
    )
    database_url: str | None = Field(default=None, description="Default: DATABASE_URL.")
    interval: float = Field(default=2.0, description="Seconds between drains of the dirty days.")
    batch_days: int = Field(default=25, description="Days written per transaction (one per drain).")
