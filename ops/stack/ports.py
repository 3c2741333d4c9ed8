"""Addresses from settings, and whether a TCP port already has a listener."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """`host:port` (or a URL, or the first of a comma-separated list) as (host, port)."""
    first = address.split(",")[0].strip()
    if "://" not in first:
        first = "tcp://" + first
    parts = urlsplit(first)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def listening(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")
