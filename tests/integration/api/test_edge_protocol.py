"""Raw protocol clients against real edges: refusals, resume with last_seq, slow consumers, two edges."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.signing import channel_auth
from tests.support.edges import KEY, SECRET, Deltas, EdgeFactory, RawClient, raw_client

pytestmark = pytest.mark.integration


async def test_forged_and_borrowed_signatures_are_refused(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges()
    async with raw_client(edge) as victim, raw_client(edge) as attacker:
        channel = "private-admin.sales"
        borrowed = channel_auth(KEY, SECRET, victim.socket_id, channel)  # signed for another socket
        forged = channel_auth(KEY, "guessed-secret", attacker.socket_id, channel)
        for auth in (borrowed, forged, f"{KEY}:{'f' * 64}"):
            error = await attacker.subscribe(channel, auth=auth)
            assert error["event"] == "pusher:error" and error["data"]["code"] == 4009, error
            scoped = await attacker.recv()
            assert scoped["event"] == "pusher:subscription_error" and scoped["channel"] == channel
        ok = await victim.subscribe(channel, auth=borrowed)
        assert ok["event"] == "pusher_internal:subscription_succeeded"
        await deltas.send(channel, "SalesUpdated", {"total": "1.00"})
        assert (await victim.recv(what="the delta"))["data"]["seq"] == 1
        assert await attacker.barrier() == []  # nothing delivered to the refused socket


async def test_oversized_frame_and_disallowed_origin(edges: EdgeFactory) -> None:
    edge = await edges(max_message_bytes="2048")
    async with raw_client(edge) as client:
        await client.ws.send(json.dumps({"event": "client-big", "channel": "x", "data": "y" * 4096}))
        error = await client.recv()
        assert error["event"] == "pusher:error" and error["data"]["code"] == 4300
        assert await client.barrier() == []  # still connected, nothing else happened
    async with connect(edge.ws_url, origin="https://evil.example", open_timeout=10) as ws:  # type: ignore[arg-type]
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame["event"] == "pusher:error" and frame["data"]["code"] == 4009
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4009
    async with raw_client(edge, origin="http://localhost:3000") as allowed:
        assert allowed.socket_id


async def test_resume_with_last_seq_also_across_an_edge_restart(edges: EdgeFactory, deltas: Deltas) -> None:
    channel = "public-resume"
    edge = await edges("first")
    async with raw_client(edge) as client:
        await client.subscribe(channel)
        for _ in range(5):
            await deltas.send(channel, "Tick", {})
        seen = [(await client.recv(what="a live delta"))["data"]["seq"] for _ in range(5)]
    assert seen == [1, 2, 3, 4, 5]
    for _ in range(20):  # deltas keep flowing while the client is away
        await deltas.send(channel, "Tick", {})
    async with raw_client(edge) as back:
        await back.subscribe(channel, last_seq=5)
        replayed = [(await back.recv(what="a missed delta"))["data"]["seq"] for _ in range(20)]
        assert replayed == list(range(6, 26))
        assert await back.barrier() == []  # each exactly once

    edge.stop()
    for _ in range(5):
        await deltas.send(channel, "Tick", {})
    restarted = await edges("second")  # refills its history from the topic
    async with raw_client(restarted) as again:
        await again.subscribe(channel, last_seq=25)
        assert [(await again.recv(what="a missed delta"))["data"]["seq"] for _ in range(5)] == list(range(26, 31))
        await deltas.send(channel, "Tick", {})
        assert (await again.recv(what="the next live delta"))["data"]["seq"] == 31
        assert await again.barrier() == []


async def test_resume_beyond_history_gets_resync_then_state(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges(history_size="5")
    for _ in range(10):
        await deltas.send("public-short", "Tick", {})
    await deltas.send("public-short", "Tock", {})
    await edge.wait_consumed(11)  # else the state may hold nothing yet, and every delta arrive live
    async with raw_client(edge) as client:
        await client.subscribe("public-short", last_seq=2)
        resync = await client.recv(what="chinook:resync")
        assert resync["event"] == "chinook:resync" and resync["data"]["last_seq"] == 2
        state = await client.barrier()
        assert state and state[0]["event"] == "Tick"
        seen = [(f["event"], f["data"]["seq"]) for f in state]
        while ("Tock", 11) not in seen:
            frame = await client.recv(what="the rest of the channel, live after its state")
            seen.append((frame["event"], frame["data"]["seq"]))
        ticks = [seq for event, seq in seen if event == "Tick"]
        assert ticks == sorted(set(ticks)) and ticks[-1] == 10, seen
        assert seen[-1] == ("Tock", 11), seen


class StalledClient:
    """A websocket client that completes the handshake, subscribes, and then never reads."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(1)  # byte by byte: leave the frames after it in the kernel
        assert self.buffer.startswith(b"HTTP/1.1 101"), self.buffer

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        assert len(payload) < 126
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def read_until_close(self, within: float) -> tuple[int, int | None]:
        """Read every frame; (text frames read, close code) once the close frame arrives, or
        (text frames read, None) when the edge dropped the connection without one."""
        deadline = time.monotonic() + within
        data, texts = b"", 0

        def need(n: int) -> bytes:
            nonlocal data
            while len(data) < n:
                if time.monotonic() > deadline:
                    raise AssertionError(f"no close frame within {within:.0f}s ({texts} text frames read)")
                try:
                    chunk = self.sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    raise _Dropped
                data += chunk
            head, data = data[:n], data[n:]
            return head

        while True:
            try:
                first, second = need(2)
            except _Dropped:
                return texts, None
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", need(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", need(8))[0]
            try:
                payload = need(length)
            except _Dropped:
                return texts, None
            opcode = first & 0x0F
            if opcode == 0x8:
                return texts, struct.unpack("!H", payload[:2])[0]
            if opcode == 0x1:
                texts += 1


class _Dropped(Exception):
    """The edge closed the TCP connection (EOF or reset) without a websocket close frame."""


@pytest.mark.timeout(240)
async def test_stalled_socket_is_cut_with_4200_and_others_are_not_delayed(edges: EdgeFactory, deltas: Deltas) -> None:
    # The close frame waits for the stalled socket to drain; it reads only after the live sockets got
    # everything, which can take longer than the default 10 s after the cut (the abort at the close
    # timeout is tests/security/test_slow_consumer.py's).
    edge = await edges(send_queue_max="50", close_timeout="30")
    channel = "public-firehose"
    path = edge.ws_url.split(str(edge.port), 1)[1]
    stalled = await asyncio.to_thread(StalledClient, edge.port, path)
    stalled.send_text(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}))
    async with raw_client(edge) as live_a, raw_client(edge) as live_b:
        for live in (live_a, live_b):
            await live.subscribe(channel)
        payload = {"blob": "x" * 4000}
        total = 2000  # ~8 MB: more than the kernel buffers and the send queue of the stalled socket hold
        begin = time.monotonic()
        sender = asyncio.create_task(_send_many(deltas, channel, payload, total))

        async def read_all(live: RawClient) -> None:
            got = 0
            while got < total:
                frame = await live.recv(within=30, what=f"delta {got + 1} on a live socket")
                if frame["event"] == "Blob":
                    got += 1
                    assert frame["data"]["seq"] == got

        # Both live sockets read at once, as live clients do: one left unread while the other is read
        # to the end would itself stall once ~8 MB of frames (uncompressed: EDGE_PER_MESSAGE_DEFLATE
        # is off) outgrow its buffers, and be cut with 4200 like the stalled one.
        await asyncio.gather(read_all(live_a), read_all(live_b))
        await asyncio.wait_for(sender, 30)
        elapsed = time.monotonic() - begin
        deadline = time.monotonic() + 30
        while await edge.metric("edge_slow_consumers_closed_total") < 1:
            assert time.monotonic() < deadline, "the stalled socket was never cut"
            await asyncio.sleep(0.2)
        assert elapsed < 90, f"live sockets took {elapsed:.1f}s"
        # Now the stalled client reads what was buffered, then the end: the close frame with 4200 if
        # it got through, else the connection aborted once the close timed out (nothing to flush into).
        texts, code = await asyncio.to_thread(stalled.read_until_close, 30)
        if code is None:
            assert await edge.metric("edge_connections_aborted_total") >= 1
        else:
            assert code == 4200
        assert texts < total  # it was cut, not served
        assert await live_a.barrier() == [] and await live_b.barrier() == []  # both still open
    stalled.sock.close()


async def _send_many(deltas: Deltas, channel: str, payload: dict[str, str], total: int) -> None:
    for _ in range(total):
        await deltas.send(channel, "Blob", payload)


async def test_two_edges_both_deliver(edges: EdgeFactory, deltas: Deltas) -> None:
    a, b = await edges("a"), await edges("b")
    async with raw_client(a) as on_a, raw_client(b) as on_b:
        await on_a.subscribe("public-both")
        await on_b.subscribe("public-both")
        await deltas.send("public-both", "Hello", {"n": 1})
        for client in (on_a, on_b):
            frame = await client.recv(what="the delta on each edge")
            assert frame["event"] == "Hello" and frame["data"] == {"n": 1, "seq": 1}
