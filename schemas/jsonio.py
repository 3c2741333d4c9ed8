"""JSON in and out: `orjson` when installed (fast), the standard library otherwise.

Both back ends raise `ValueError` (or a subclass) on malformed input, and both produce
compact UTF-8 bytes. `orjson` is stricter (no `NaN`, no lone surrogates, depth <= 1024),
which only ever turns odd input into a parse failure, never into a different value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "dumps", "loads"]

loads: Callable[[bytes | str], Any]
dumps: Callable[[Any], bytes]

try:
    import orjson
except ImportError:  # pragma: no cover - exercised only without orjson
    BACKEND = "json"

    def _loads(data: bytes | str) -> Any:
        """Parse JSON text (strictly UTF-8 when given bytes)."""
        if isinstance(data, bytes | bytearray | memoryview):
            data = bytes(data).decode("utf-8")
        return json.loads(data)

    def _dumps(obj: Any) -> bytes:
        """Serialize to compact UTF-8 JSON."""
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()

    loads = _loads
    dumps = _dumps
else:
    BACKEND = "orjson"
    loads = orjson.loads
    dumps = orjson.dumps
