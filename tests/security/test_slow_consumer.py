"""A client that stops reading is closed for real: its TCP connection is gone (per `ss`) within a
bound, the edge's counters and /healthz agree, and the other subscribers get every delta."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time

import httpx
import pytest

from tests.support.attacks import tcp_states
from tests.support.edges import KEY, Deltas, EdgeFactory, raw_client

pytestmark = pytest.mark.integration

CLOSE_TIMEOUT = 1.0
BOUND = 20.0  # seconds from the last delta sent to the socket gone (the close timeout is 1 s)


def masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    assert len(payload) < 126
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + body


def stalled_client(port: int, channel: str) -> socket.socket:
    """A websocket client that subscribes to `channel`, then never reads again (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /app/{KEY}?protocol=7&client=py&version=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"connection_established" not in answer:
        chunk = sock.recv(4096)
        assert chunk, f"handshake failed: {answer!r}"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer[:100]
    sock.sendall(masked_text_frame(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}})))
    return sock


async def test_a_client_that_stops_reading_is_dropped_at_the_tcp_level(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges(send_queue_max="200", close_timeout=str(CLOSE_TIMEOUT))
    channel = "public-firehose"
    stalled = await asyncio.to_thread(stalled_client, edge.port, channel)
    client_port = stalled.getsockname()[1]
    try:
        async with raw_client(edge, max_size=None) as reader:
            answer = await reader.subscribe(channel)
            assert answer["event"] == "pusher_internal:subscription_succeeded", answer
            assert any(f":{client_port}" in line for line in tcp_states(edge.pid, edge.port)), "stalled socket not seen"
            blob = "x" * 16_000
            received = 0
            total = 0
            for _ in range(60):  # ~16 MB in small rounds: the reader keeps up, the stalled client cannot
                for _ in range(20):
                    total += 1
                    await deltas.send(channel, "Bulk", {"n": total, "blob": blob})
                while received < total - 100:
                    frame = await reader.recv(within=15, what=f"delta {received + 1}")
                    assert frame["event"] == "Bulk", frame
                    received += 1
            sent_at = time.monotonic()
            while received < total:
                frame = await reader.recv(within=15, what=f"delta {received + 1} of {total}")
                assert frame["event"] == "Bulk" and frame["data"]["n"] == received + 1, frame["event"]
                received += 1
            assert received == total  # the subscriber that reads got every delta, in order

            while any(f":{client_port}" in line for line in tcp_states(edge.pid, edge.port)):
                left = BOUND - (time.monotonic() - sent_at)
                if left <= 0:
                    closed = await edge.metric("edge_slow_consumers_closed_total")
                    raise AssertionError(
                        f"stalled socket still open {BOUND:.0f}s after the last delta ({closed:.0f} closed for "
                        f"a full queue): {tcp_states(edge.pid, edge.port)}\n{edge.log_tail()[-1500:]}"
                    )
                await asyncio.sleep(0.2)

            assert await edge.metric("edge_slow_consumers_closed_total") == 1
            assert await edge.metric("edge_connections_aborted_total") == 1
            assert await edge.metric("edge_connections") == 1  # the reader only
            async with httpx.AsyncClient(timeout=5) as http:
                assert (await http.get(f"{edge.base}/healthz")).json()["connections"] == 1
            await deltas.send(channel, "After", {})
            frame = await reader.recv(within=15, what="a delta after the drop")
            assert frame["event"] == "After", frame
    finally:
        stalled.close()
