"""Read and check a query's parameters: window, range, key, top, format and page (400 on anything wrong)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from api.query.catalogue import MAX_TOP, TableSpec
from schemas.settings import QuerySettings
from tables.windows import zone

KNOWN = frozenset({"window", "from", "to", "key", "top", "format", "limit", "cursor", "page"})
FORMATS = ("json", "csv")


class QueryError(Exception):
    """A request the API answers with `status` and a message saying what to change."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Query:
    spec: TableSpec
    window: str | None
    start: datetime | None  # aware UTC, inclusive: windows starting at or after it
    end: datetime | None  # aware UTC, exclusive: windows starting before it
    key: str | None
    top: int | None
    fmt: str
    limit: int
    offset: int

    def fingerprint(self) -> str:
        """What a cursor belongs to: the same table, window, range, key and top."""
        parts: list[object] = [self.spec.name, self.window, self.key, self.top]
        parts += [self.start and self.start.isoformat(), self.end and self.end.isoformat()]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]

    def cursor_at(self, offset: int) -> str:
        doc = json.dumps({"o": offset, "q": self.fingerprint()}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(doc).decode().rstrip("=")


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise QueryError(400, f"parameter {name!r} given {len(values)} times; give it once")
    return values[0]


def _int(text: str | None, name: str, low: int, high: int) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise QueryError(400, f"{name} must be an integer, got {text[:40]!r}") from None
    if not low <= value <= high:
        raise QueryError(400, f"{name} must be between {low} and {high}, got {value}")
    return value


def parse_instant(text: str, tz: str, name: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is taken in the report time zone."""
    raw = text.strip()
    if "T" in raw and " " in raw:
        raw = raw.replace(" ", "+")  # a '+' of an offset that arrived unescaped in the query string
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            instant = datetime(d.year, d.month, d.day)
        else:
            instant = datetime.fromisoformat(raw)
    except ValueError:
        raise QueryError(400, f"{name} must be an ISO 8601 date or date-time, got {text[:40]!r}") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone(tz))
    try:
        return instant.astimezone(UTC)
    except (OverflowError, ValueError):
        raise QueryError(400, f"{name} is out of range: {text[:40]!r}") from None


def _local_midnight(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone(tz)).astimezone(UTC)


def _range(params: dict[str, list[str]], tz: str, max_days: int, now: datetime) -> tuple[datetime, datetime]:
    try:
        return _checked_range(params, tz, max_days, now)
    except (OverflowError, ValueError):  # e.g. from=9999-12-31: its end (the next midnight) is past year 9999
        raise QueryError(400, "the range is out of the calendar's bounds (years 1 to 9999)") from None


def _checked_range(params: dict[str, list[str]], tz: str, max_days: int, now: datetime) -> tuple[datetime, datetime]:
    start_text, end_text = _one(params, "from"), _one(params, "to")
    start = None if start_text is None else parse_instant(start_text, tz, "from")
    end = None if end_text is None else parse_instant(end_text, tz, "to")
    if start is None:
        anchor = now if end is None else end - timedelta(microseconds=1)
        start = _local_midnight(anchor.astimezone(zone(tz)).date(), tz)
    if end is None:
        end = _local_midnight(start.astimezone(zone(tz)).date() + timedelta(days=1), tz)
    if end <= start:
        raise QueryError(400, "the range is empty: `to` must be after `from`")
    if end - start > timedelta(days=max_days):
        raise QueryError(400, f"the range is longer than {max_days} days; split it")
    return start, end


def negotiate(fmt: str | None, accept: str) -> str:
    """`format` wins; else the best of text/csv and application/json in `Accept`; else JSON."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise QueryError(400, f"format must be one of {', '.join(FORMATS)}, got {fmt[:20]!r}")
        return fmt
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate(accept.split(",")):
        media, *options = [part.strip() for part in item.split(";")]
        q = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = {"text/csv": "csv", "text/*": "csv", "application/json": "json", "application/*": "json"}.get(
            media.lower(), "json" if media == "*/*" else ""
        )
        if kind and q > 0:
            ranked.append((-q, i, kind))
    return sorted(ranked)[0][2] if ranked else "json"


def _offset(params: dict[str, list[str]], fingerprint: str, limit: int) -> int:
    cursor, page = _one(params, "cursor"), _int(_one(params, "page"), "page", 1, 1_000_000)
    if cursor is not None and page is not None:
        raise QueryError(400, "give either cursor or page, not both")
    if page is not None:
        return (page - 1) * limit
    if cursor is None:
        return 0
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, owner = doc["o"], doc["q"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise QueryError(400, "cursor is not one this API returned") from None
    if not isinstance(offset, int) or offset < 0 or owner != fingerprint:
        raise QueryError(400, "cursor belongs to another query (same table, window, range, key and top needed)")
    return offset


def parse_query(
    spec: TableSpec,
    params: dict[str, list[str]],
    accept: str,
    tz: str,
    config: QuerySettings,
    now: datetime | None = None,
) -> Query:
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        raise QueryError(400, f"unknown parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(KNOWN))}")
    fmt = negotiate(_one(params, "format"), accept)
    window = _one(params, "window")
    start = end = None
    if spec.windows:
        window = window or spec.default_window
        if window not in spec.windows:
            raise QueryError(400, f"window of {spec.name} must be one of {', '.join(spec.windows)}, got {window!r}")
        start, end = _range(params, tz, config.query_max_days, now or datetime.now(UTC))
    else:
        given = [n for n in ("window", "from", "to") if n in params]
        if given:
            raise QueryError(400, f"{spec.name} has no window: drop {', '.join(given)}")
    key = _one(params, "key")
    if key is not None:
        if spec.key is None:
            raise QueryError(400, f"{spec.name} has no key")
        if spec.key == "track":
            key = str(_int(key, "key (a track id)", 1, 2**31 - 1))
    top = _int(_one(params, "top"), "top", 1, MAX_TOP)
    if top is not None and spec.top is None:
        raise QueryError(400, f"{spec.name} takes no top")
    top = top or spec.default_top
    limit = _int(_one(params, "limit"), "limit", 1, config.query_max_limit) or config.query_default_limit
    query = Query(spec, window, start, end, key, top, fmt, limit, 0)
    offset = _offset(params, query.fingerprint(), limit)
    return Query(spec, window, start, end, key, top, fmt, limit, offset)


def multi(items: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in items:
        out.setdefault(name, []).append(value)
    return out
