"""Broadcast frames written straight to the socket (api.wire, api.frames) under a real uvicorn:
every subscriber gets every frame in order, whatever its size, on the raw path and on the ASGI
path (permessage-deflate); a subscriber that stops reading is closed with 4200 and dropped, and
the others keep getting everything."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from api.frames import Frame, text_frame
from api.history import delta_from_record
from api.state import Edge
from schemas.settings import EdgeSettings
from tests.support.edge_harness import KEY
from tests.unit.api.test_server import serving_edge

CHANNEL = "public-feed"


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 200_000])
def test_text_frame_header_carries_the_payload_length(size: int) -> None:
    payload = b"x" * size
    wire = text_frame(payload)
    assert wire[0] == 0x81 and wire[1] & 0x80 == 0  # FIN + text, unmasked
    length = wire[1] & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", wire[2:4])
        header = 4
    elif length == 127:
        (length,) = struct.unpack("!Q", wire[2:10])
        header = 10
    else:
        header = 2
    assert length == size and wire[header:] == payload
    assert Frame("é").wire == text_frame("é".encode())


def apply(edge: Edge, seq: int, data: dict[str, Any]) -> None:
    value = json.dumps({"channel": CHANNEL, "event": "Tick", "data": data, "seq": seq, "ts_ms": 1})
    edge.apply(delta_from_record(value))


async def subscribe(ws: ClientConnection) -> None:
    hello = json.loads(await ws.recv())
    assert hello["event"] == "pusher:connection_established"
    await ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": CHANNEL}}))
    answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert answer["event"] == "pusher_internal:subscription_succeeded", answer


@pytest.mark.parametrize("deflate", [False, True])
async def test_every_subscriber_gets_every_frame_in_order(deflate: bool) -> None:
    config = EdgeSettings(consume=False, per_message_deflate=deflate, history_size=10)
    async with serving_edge(config) as (port, edge):
        url = f"ws://127.0.0.1:{port}/app/{KEY}?protocol=7"
        clients = [await connect(url, max_size=None) for _ in range(3)]
        try:
            for ws in clients:
                await subscribe(ws)
            assert all((c.socket is None) is deflate for c in edge.connections.values())
            sizes = [0, 10, 120, 200, 70_000, 5]
            total = 60
            for seq in range(1, total + 1):
                apply(edge, seq, {"n": seq, "pad": "y" * sizes[seq % len(sizes)]})
                if seq % 7 == 0:
                    await asyncio.sleep(0)  # some in one loop turn, some apart
            for ws in clients:
                for seq in range(1, total + 1):
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert frame["event"] == "Tick", frame
                    data = json.loads(frame["data"])
                    assert data["n"] == seq and len(data["pad"]) == sizes[seq % len(sizes)]
                # the socket still speaks the protocol after the raw frames
                await ws.send(json.dumps({"event": "pusher:ping", "data": {}}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["event"] == "pusher:pong"
                await asyncio.wait_for(ws.ping(), 5)  # websocket-level ping, answered by uvicorn
            assert edge.metrics.value("edge_messages_out_total") >= 3 * (total + 3)
        finally:
            for ws in clients:
                await ws.close()


def stalled_client(port: int) -> socket.socket:
    """Subscribes to CHANNEL, then never reads again (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /app/{KEY}?protocol=7 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = b""
    while b"connection_established" not in answer:
        chunk = sock.recv(4096)
        assert chunk, answer
        answer += chunk
    payload = json.dumps({"event": "pusher:subscribe", "data": {"channel": CHANNEL}}).encode()
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + body)
    return sock


async def test_a_subscriber_that_stops_reading_is_closed_and_dropped() -> None:
    config = EdgeSettings(consume=False, send_queue_max=50, close_timeout=0.5, history_size=10)
    async with serving_edge(config) as (port, edge):
        stalled = await asyncio.to_thread(stalled_client, port)
        reader = await connect(f"ws://127.0.0.1:{port}/app/{KEY}?protocol=7", max_size=None)
        try:
            await subscribe(reader)
            deadline = time.monotonic() + 5
            while len(edge.registry.subscription_counts()) == 0 or edge.channel_counts(CHANNEL)[0] < 2:
                assert time.monotonic() < deadline, "the stalled client never subscribed"
                await asyncio.sleep(0.02)
            blob = "z" * 16_000
            total = 0
            for _ in range(40):
                for _ in range(10):
                    total += 1
                    apply(edge, total, {"n": total, "blob": blob})
                for _ in range(10):
                    frame = json.loads(await asyncio.wait_for(reader.recv(), 5))
                    assert json.loads(frame["data"])["n"] == total - 9 + _
            deadline = time.monotonic() + 10
            while len(edge.connections) > 1:
                assert time.monotonic() < deadline, f"stalled connection still held: {len(edge.connections)}"
                await asyncio.sleep(0.05)
            assert edge.metrics.value("edge_slow_consumers_closed_total") == 1
            assert edge.metrics.value("edge_connections_aborted_total") == 1
            apply(edge, total + 1, {"n": total + 1})
            frame = json.loads(await asyncio.wait_for(reader.recv(), 5))
            assert json.loads(frame["data"])["n"] == total + 1
        finally:
            await reader.close()
            stalled.close()


class _Broken:
    """A transport whose write fails."""

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        raise OSError("broken pipe")


class _Sink:
    def __init__(self) -> None:
        self.data = b""

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.data += data


async def test_a_failing_socket_does_not_stop_the_others() -> None:
    from api.connection import Connection, Outbox
    from api.metrics import Metrics
    from api.wire import RawSocket

    metrics = Metrics()
    outbox = Outbox(metrics)
    writable = asyncio.Event()
    writable.set()
    sink = _Sink()
    broken = Connection("1.1", None, 10, metrics, socket=RawSocket(_Broken(), writable), outbox=outbox)  # type: ignore[arg-type]
    good = Connection("2.2", None, 10, metrics, socket=RawSocket(sink, writable), outbox=outbox)  # type: ignore[arg-type]
    frame = Frame('{"event":"x"}')
    assert broken.send(frame) and good.send(frame)
    await asyncio.sleep(0)  # the outbox's turn
    assert sink.data == frame.wire
    assert broken.close_code == 4200 and good.open
    assert metrics.value("edge_messages_out_total") == 1
    assert good.send(frame)
    await asyncio.sleep(0)
    assert sink.data == frame.wire * 2
