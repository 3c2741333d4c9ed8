"""Ask every worker's web view and take the owner's answer (404: not the owner, 503: restoring).

Answers are retried, bounded by `query_retry_seconds`, while no owner answers (a rebalance, a
restore) or, for the day tables, while the answering workers do not yet own every partition
between them. Beyond that the query fails with `WorkersUnavailable` (the API answers 503).
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

import httpx

from schemas.settings import QuerySettings
from tables.day_rows import DayBreakdown


class WorkersUnavailable(Exception):
    """No complete answer from the workers within the retry time; the message says what they said."""


class WorkerPool:
    def __init__(self, config: QuerySettings) -> None:
        self.urls = list(config.worker_urls)
        self.timeout = config.query_worker_timeout
        self.retry_seconds = config.query_retry_seconds

    async def _ask_all(self, path: str, params: dict[str, str]) -> list[tuple[str, int | str, Any]]:
        async with httpx.AsyncClient(timeout=self.timeout) as client:

            async def ask(url: str) -> tuple[str, int | str, Any]:
                try:
                    r = await client.get(url + path, params=params)
                except httpx.HTTPError as exc:
                    return url, type(exc).__name__, None
                try:
                    body = r.json()
                except ValueError:
                    body = None
                return url, r.status_code, body

            return list(await asyncio.gather(*(ask(u) for u in self.urls)))

    async def _retrying(self, attempt: Any) -> Any:
        """Call `attempt()` until it returns a value other than None, for at most `retry_seconds`."""
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.1
        while True:
            result, why = await attempt()
            if result is not None:
                return result
            if time.monotonic() + delay > deadline:
                raise WorkersUnavailable(f"no complete answer from the workers within {self.retry_seconds:.0f}s: {why}")
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)

    async def owner(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """The body of the one worker that answers 200 for `path` (it owns the key)."""

        async def attempt() -> tuple[dict[str, Any] | None, str]:
            answers = await self._ask_all(path, params or {})
            for _url, status, body in answers:
                if status == 200 and isinstance(body, dict):
                    return body, ""
            return None, "; ".join(f"{url} {status}" for url, status, _ in answers)

        result: dict[str, Any] = await self._retrying(attempt)
        return result

    async def days(self, first: date, last: date, parts: str) -> tuple[str, dict[date, DayBreakdown]]:
        """(time zone, breakdown per day with sales) of the days [first, last], from the workers owning them."""

        async def attempt() -> tuple[tuple[str, dict[date, DayBreakdown]] | None, str]:
            params = {"from": first.isoformat(), "to": last.isoformat(), "parts": parts}
            answers = await self._ask_all("/pulse/windows/", params)
            bodies = [body for _, status, body in answers if status == 200 and isinstance(body, dict)]
            covered = {p for body in bodies for p in body["partitions"]}
            totals = {body["partitions_total"] for body in bodies}
            zones = {body["timezone"] for body in bodies}
            if len(totals) != 1 or covered != set(range(totals.pop())) or len(zones) != 1:
                said = "; ".join(f"{url} {status}" for url, status, _ in answers)
                return None, f"partitions owned by the answering workers: {sorted(covered)} ({said})"
            days = {
                date.fromisoformat(day): DayBreakdown.from_json(date.fromisoformat(day), data)
                for body in bodies
                for day, data in body["days"].items()
            }
            return (zones.pop(), days), ""

        result: tuple[str, dict[date, DayBreakdown]] = await self._retrying(attempt)
        return result
