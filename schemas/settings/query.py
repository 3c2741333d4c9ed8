"""The query API's part of the settings (`Settings.query`): variables ``WORKER_URLS`` and ``QUERY_*``.

Where the workers' web views are and how long to wait for them. There is no env prefix: the field
names carry ``query_`` themselves, as ``WORKER_URLS`` has none. Every default is a DEVELOPMENT
default. ``WORKER_URLS`` is comma-separated (or a JSON list).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

from schemas.settings._env import env_config, split_list


class QuerySettings(BaseSettings):
    model_config = env_config()

    worker_urls: Annotated[list[str], NoDecode] = Field(
        default=["http://127.0.0.1:6066"],
        description="Base URLs of every worker's web view; each is asked, the owner of a key answers.",
    )
    query_worker_timeout: float = Field(default=10.0, description="Seconds one request to a worker may take.")
    query_retry_seconds: float = Field(
        default=15.0, description="Seconds to keep retrying while workers restore state or rebalance (503 after)."
    )
    query_default_limit: int = Field(default=1000, description="Rows per page when `limit` is not given.")
    query_max_limit: int = Field(default=10_000, description="Largest `limit` accepted.")
    query_max_days: int = Field(default=3660, description="Longest range (in days) one query may cover.")

    @field_validator("worker_urls", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        urls = split_list(value)
        return [u.rstrip("/") for u in urls] if isinstance(urls, list) else urls
