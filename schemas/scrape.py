"""What the worker's and the edge's `/metrics` share: who may scrape them, and the bounded channel label.

A series per channel name would grow with whatever channels clients (or HTTP-API triggers) invent,
so a channel is labelled by its name only when the worker publishes it (`KNOWN_CHANNELS`), else by
its family. `/metrics` answers only a request carrying the metrics token as its bearer token.
"""

from __future__ import annotations

import hmac
import re

__all__ = ["FAMILIES", "KNOWN_CHANNELS", "channel_label", "scrape_allowed"]

#: Channels the worker publishes: each has its own series.
KNOWN_CHANNELS = frozenset(
    {"private-admin.sales", "private-admin.invoices", "private-admin.users", "private-admin.tracks"}
)
#: Every other channel is counted under the first family it belongs to.
FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.ASCII), label)
    for pattern, label in (
        (r"private-user\.[0-9]+", "private-user.*"),
        (r"presence-dashboard(?:\..*)?", "presence-dashboard*"),
        (r"private-admin\..*", "private-admin.*"),
        (r"private-encrypted-.*", "private-encrypted-*"),
        (r"private-.*", "private-*"),
        (r"presence-.*", "presence-*"),
        (r"cache-.*", "cache-*"),
    )
)


def channel_label(channel: str) -> str:
    """The ``channel`` label of a channel's series: its own name only for `KNOWN_CHANNELS`."""
    if channel in KNOWN_CHANNELS:
        return channel
    for pattern, label in FAMILIES:
        if pattern.fullmatch(channel):
            return label
    return "public"


def scrape_allowed(authorization: str | None, token: str) -> bool:
    """True when ``Authorization`` is ``Bearer <token>`` (compared in constant time) and a token is set."""
    if not token or authorization is None:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
