"""Oversized, deeply nested and non-Unicode input: a 4xx (or a pusher:error), never a 500, and the
keep-alive connection survives; bad input is logged once per client per interval, without tracebacks."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from tests.support.attacks import private_auth, raw_http, serves_a_normal_client, signed
from tests.support.edges import APP_ID, Deltas, EdgeFactory, EdgeProcess, raw_client

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
DEEP = b"[" * 3000 + b"]" * 3000


def events_request(body: bytes) -> tuple[str, bytes]:
    path = f"/apps/{APP_ID}/events"
    query = "&".join(f"{k}={v}" for k, v in signed("POST", path, body).items())
    return f"{path}?{query}", body


def huge_upload(edge: EdgeProcess, target: str, *, chunked: bool, total: int = 200 * MIB) -> tuple[int, float]:
    """Send a `total`-byte body (announced or chunked) until the edge answers; its status and the bytes sent."""
    sock = socket.create_connection(("127.0.0.1", edge.port), timeout=30)
    try:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
        head = (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer not-a-token\r\n{framing}\r\n\r\n"
        )
        sock.sendall(head.encode())
        sock.setblocking(False)
        block = b"x" * 65536
        sent = 0
        answer = b""
        deadline = time.monotonic() + 60
        while b"\r\n" not in answer:
            assert time.monotonic() < deadline, f"no answer after sending {sent} bytes"
            try:
                answer += sock.recv(4096)
                continue
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            if sent < total:
                piece = (b"%x\r\n" % len(block) + block + b"\r\n") if chunked else block
                try:
                    sent += sock.send(piece)
                except BlockingIOError:
                    time.sleep(0.005)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            else:
                time.sleep(0.01)
        assert answer, f"the edge dropped the connection without an answer after {sent} bytes"
        return int(answer.split()[1]), sent
    finally:
        sock.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_bodies_are_refused_before_they_are_read(
    edges: EdgeFactory, deltas: Deltas, chunked: bool
) -> None:
    edge = await edges()
    for target in (events_request(b"")[0], "/broadcasting/auth"):
        status, sent = await asyncio.to_thread(huge_upload, edge, target, chunked=chunked)
        assert status == 413, (target, status)
        assert sent < 50 * MIB, f"the edge read {sent} bytes before refusing"
    await serves_a_normal_client(edge, deltas)


async def test_deep_nesting_and_surrogates_get_4xx_on_a_kept_alive_connection(
    edges: EdgeFactory, deltas: Deltas, tokens: dict[str, str]
) -> None:
    edge = await edges()
    bearer = {"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"}
    cases = [
        ("POST", "/broadcasting/auth", DEEP, bearer, 400),
        ("POST", "/broadcasting/auth", b'{"socket_id":"1.1","channel_name":"\\ud800"}', bearer, 400),
        ("POST", "/broadcasting/auth", b'{"socket_id":' + b"[" * 100 + b"]" * 100 + b"}", bearer, 400),
        ("POST", "/broadcasting/auth", b"\xff\xfe", {**bearer, "Content-Type": "text/plain"}, 400),
        ("POST", *events_request(DEEP), {"Content-Type": "application/json"}, 400),
        ("POST", *events_request(b'{"name":"E","channels":["public-x"],"data":"\\ud800"}'), {}, 400),
        ("POST", *events_request(b'{"name":"E","channels":["public-x"],"data":"{\\"a\\":\\"\\\\ud800\\"}"}'), {}, 400),
        ("POST", *events_request(b'{"name":"\\udfff","channels":["public-x"],"data":"{}"}'), {}, 400),
        ("GET", "/api/tables/sales?from=9999-12-31", b"", bearer, 400),
        ("GET", "/api/tables/sales?to=0001-01-01", b"", bearer, 400),
        ("GET", "/api/tables/sales?from=9999-12-31T23:59:59%2B14:00", b"", bearer, 400),
    ]
    with raw_http(edge) as http:
        for method, target, body, headers, expected in cases:
            status, answer_headers, answer = http.request(method, target, body, headers)
            assert status == expected, (target[:60], body[:60], status, answer[:200])
            assert answer_headers.get("connection") != "close", (target[:60], answer_headers)
        path = f"/apps/{APP_ID}/channels"
        query = "&".join(f"{k}={v}" for k, v in signed("GET", path).items())
        status, _, answer = http.request("GET", f"{path}?{query}")  # the same connection still works
        assert status == 200, answer
    async with raw_client(edge) as client:
        await client.ws.send('{"event":"pusher:subscribe","data":' + "[" * 3000 + "]" * 3000 + "}")
        frame = await client.recv(what="the refusal of a deep frame")
        assert frame["event"] == "pusher:error" and "nested" in frame["data"]["message"], frame
        channel = "presence-dashboard"
        channel_data = '{"user_id":"\\ud800","user_info":{}}'
        answer = await client.subscribe(
            channel, auth=private_auth(client.socket_id, channel, channel_data), channel_data=channel_data
        )
        assert answer["event"] == "pusher:error" and "surrogate" in answer["data"]["message"], answer
        refusal = await client.recv(what="the subscription_error")
        assert refusal["event"] == "pusher:subscription_error" and refusal["data"]["status"] == 400, refusal
        good = await client.subscribe("public-after")
        assert good["event"] == "pusher_internal:subscription_succeeded"
    await serves_a_normal_client(edge, deltas)
    log = edge.log_path.read_text()
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
    lines = [line for line in log.splitlines() if "bad input from 127.0.0.1" in line]
    assert len(lines) == 1, lines  # once per client per EDGE_BAD_INPUT_LOG_INTERVAL (60 s)


async def test_bad_input_is_logged_again_after_the_interval(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges(bad_input_log_interval="1")
    with raw_http(edge) as http:
        for _ in range(5):
            assert http.request("POST", *events_request(DEEP))[0] == 400
        await asyncio.sleep(1.2)
        assert http.request("POST", *events_request(DEEP))[0] == 400
    lines = [line for line in edge.log_path.read_text().splitlines() if "bad input from 127.0.0.1" in line]
    assert len(lines) == 2, lines
    await serves_a_normal_client(edge, deltas)


def _json(value: object) -> bytes:
    return json.dumps(value).encode()
