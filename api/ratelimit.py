"""Rate limits: a token bucket, one bucket per key (client address), and once per interval per key."""

from __future__ import annotations

import time
from collections import OrderedDict


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()

    def available(self, now: float | None = None) -> float:
        """Tokens there are now (without spending one)."""
        now = time.monotonic() if now is None else now
        return min(self.burst, self._tokens + (now - self._stamp) * self.rate)

    def take(self, now: float | None = None) -> bool:
        """Spend one token; False when there is none (rate exceeded)."""
        now = time.monotonic() if now is None else now
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class KeyedBuckets:
    """One `TokenBucket` per key (a client address), the `max_keys` most recently used kept.

    Used for failed authentications: each failure spends a token, and a key without tokens is
    refused (429) before any work is done for it.
    """

    def __init__(self, rate: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def spend(self, key: str) -> bool:
        """Record one failure of `key`; False when it had none left to spend."""
        return self._bucket(key).take()

    def exhausted(self, key: str, now: float | None = None) -> bool:
        """True while `key` has no token left (without spending one)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return False
        return bucket.available(now) < 1.0


class OncePer:
    """True for a key at most once per `interval` seconds (the `max_keys` most recent kept)."""

    def __init__(self, interval: float, max_keys: int = 10_000) -> None:
        self.interval = interval
        self.max_keys = max_keys
        self._last: OrderedDict[str, float] = OrderedDict()

    def __call__(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self.max_keys:
            self._last.popitem(last=False)
        return True
