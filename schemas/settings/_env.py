"""What the parts of the settings share: where the variables come from, list parsing, a source filter."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource, SettingsConfigDict


def env_config(prefix: str = "") -> SettingsConfigDict:
    """Read the environment (names start with `prefix`) and `.env` in the working directory."""
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", env_file_encoding="utf-8", extra="ignore")


def split_list(value: Any) -> Any:
    """A list given as JSON (``["a","b"]``) or comma-separated text (``a,b``); anything else as is."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Without(PydanticBaseSettingsSource):
    """`source` without the fields `names`: what it would give for them is dropped.

    `Settings` reads the environment, `.env` and secrets through this for everything but its parts
    (``edge``, ``query``, ``sink``), which read their own prefixed variables. Those fields are
    `NoDecode`, so `source` hands a stray ``EDGE=...`` over as text (instead of failing to parse it
    as JSON) and it is dropped here.
    """

    def __init__(self, source: PydanticBaseSettingsSource, names: Collection[str]) -> None:
        super().__init__(source.settings_cls)
        self.source = source
        self.names = frozenset(names)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name in self.names:
            return None, field_name, False
        return self.source.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return {key: value for key, value in self.source().items() if key not in self.names}

    def __repr__(self) -> str:
        return f"Without({self.source!r}, {sorted(self.names)!r})"
