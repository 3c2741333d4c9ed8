"""JSON in and out for the hot path (CDC envelopes, deltas): `orjson`, a required dependency.

Rule: `loads` raises `ValueError` (orjson's `JSONDecodeError` is one) on malformed input, and
is strict (no `NaN`, no lone surrogates, depth <= 1024); `dumps` writes compact UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["dumps", "loads"]

loads: Callable[[bytes | bytearray | memoryview | str], Any] = orjson.loads
dumps: Callable[[Any], bytes] = orjson.dumps
