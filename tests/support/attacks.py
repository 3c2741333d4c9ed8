"""The security tests' library: signed Pusher HTTP API requests, channel auth, raw HTTP, and the
check that an edge still serves a normal client after an attack."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from api.signing import channel_auth, sign_request
from tests.support.edges import APP_ID, KEY, SECRET, EdgeProcess, raw_client


def signed(method: str, path: str, body: bytes = b"", secret: str = SECRET, **extra: str) -> dict[str, str]:
    """Query parameters of a Pusher HTTP API request signed with `secret` (extra ones signed too)."""
    params = sign_request(KEY, secret, method, path, body)
    if extra:
        from api.signing import request_signature

        params.pop("auth_signature")
        params.update(extra)
        params["auth_signature"] = request_signature(secret, method, path, params)
    return params


async def serves_a_normal_client(edge: EdgeProcess, deltas_sender: Any, channel: str | None = None) -> None:
    """The edge still answers: a websocket client subscribes to a public channel and gets a delta."""
    channel = channel or f"public-check-{uuid.uuid4().hex[:8]}"
    async with raw_client(edge) as client:
        answer = await client.subscribe(channel)
        assert answer["event"] == "pusher_internal:subscription_succeeded", answer
        await deltas_sender.send(channel, "Check", {"ok": True})
        frame = await client.recv(within=15, what=f"a delta on {channel}")
        assert frame["event"] == "Check" and frame["channel"] == channel, frame
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        path = f"/apps/{APP_ID}/channels"
        listed = await http.get(path, params=signed("GET", path))
        assert listed.status_code == 200, listed.text
        assert (await http.get("/healthz")).status_code == 200


def private_auth(socket_id: str, channel: str, channel_data: str | None = None, secret: str = SECRET) -> str:
    return channel_auth(KEY, secret, socket_id, channel, channel_data)


class RawHttp:
    """HTTP/1.1 requests written by hand on one TCP connection (keep-alive checked, bodies as wanted)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)

    def request(self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        return self.response()

    def response(self) -> tuple[int, dict[str, str], bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            assert chunk, f"the edge closed the connection before answering: {data!r}"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            assert chunk, "the edge closed the connection in the middle of its answer"
            rest += chunk
        return status, headers, rest[:length]

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def raw_http(edge: EdgeProcess) -> Iterator[RawHttp]:
    conn = RawHttp(edge.port)
    try:
        yield conn
    finally:
        conn.close()


@dataclass
class TestUser:
    id: int
    email: str
    token: str


def tcp_states(pid: int, port: int) -> list[str]:
    """`ss` lines of the TCP connections of process `pid` on local port `port` (the listener excluded)."""
    out = subprocess.run(
        ["ss", "-tanpH", f"sport = :{port}"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    return [line for line in out.splitlines() if f"pid={pid}," in line and not line.startswith("LISTEN")]


def rss_kib(pid: int) -> int:
    """Resident set size of `pid` in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()
