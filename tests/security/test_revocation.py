"""Revoking a token or a user, or `terminate_connections` (the official SDK's
`terminate_user_connections`), closes that user's open sockets within seconds (on every edge); the
old signature no longer subscribes; everybody else is served."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from schemas.settings import PROJECT_ROOT
from tests.support.attacks import serves_a_normal_client, signed
from tests.support.edges import (
    APP_ID,
    Deltas,
    EdgeFactory,
    EdgeProcess,
    RawClient,
    cli,
    official,
    raw_client,
)

pytestmark = pytest.mark.integration

CHANNEL = "private-admin.sales"
BOUND = 10.0  # seconds from the revocation to the socket closed (EDGE_REVOCATION_POLL is 2 s)


async def authorized(edge: EdgeProcess, client: RawClient, token: str, channel: str = CHANNEL) -> str:
    """Sign `channel` for `client` through the edge's /broadcasting/auth and subscribe; the auth used."""
    async with httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        answer = await http.post(
            "/broadcasting/auth",
            data={"socket_id": client.socket_id, "channel_name": channel},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    auth = str(answer.json()["auth"])
    extra = {"channel_data": answer.json()["channel_data"]} if channel.startswith("presence-") else {}
    subscribed = await client.subscribe(channel, auth=auth, **extra)
    assert subscribed["event"] == "pusher_internal:subscription_succeeded", subscribed
    return auth


async def closed_with(client: RawClient, within: float) -> int:
    """Read until the edge closes the socket (bounded); the close code."""
    deadline = time.monotonic() + within
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"the socket was still open {within:.0f}s after the user was cut off"
            await asyncio.wait_for(client.ws.recv(), left)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code
    except TimeoutError:
        raise AssertionError(f"the socket was still open {within:.0f}s after the user was cut off") from None


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*cli(), *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    return result


async def test_revoked_token_closes_its_open_socket(
    edges: EdgeFactory, deltas: Deltas, own_user: Any, tokens: dict[str, str]
) -> None:
    edge = await edges()
    user = own_user("admin")
    async with raw_client(edge) as victim, raw_client(edge) as bystander:
        old_auth = await authorized(edge, victim, user.token)
        await authorized(edge, bystander, tokens["admin"])
        await deltas.send(CHANNEL, "SalesUpdated", {"n": 1})
        assert (await victim.recv(what="a delta before revoking"))["event"] == "SalesUpdated"
        assert (await bystander.recv(what="a delta before revoking"))["event"] == "SalesUpdated"
        revoked_at = time.monotonic()
        await asyncio.to_thread(run_cli, "users", "revoke", "--token-stdin", stdin=user.token + "\n")
        assert await closed_with(victim, BOUND) == 4009
        assert time.monotonic() - revoked_at < BOUND
        await deltas.send(CHANNEL, "SalesUpdated", {"n": 2})
        frame = await bystander.recv(what="a delta after revoking the other token")
        assert frame["data"]["n"] == 2  # another user's connection is untouched
    async with raw_client(edge) as again, httpx.AsyncClient(base_url=edge.base, timeout=10) as http:
        reused = await again.subscribe(CHANNEL, auth=old_auth)  # the old signature, a new socket
        assert reused["event"] == "pusher:error" and reused["data"]["code"] == 4009, reused
        refused = await http.post(
            "/broadcasting/auth",
            data={"socket_id": again.socket_id, "channel_name": CHANNEL},
            headers={"Authorization": f"Bearer {user.token}"},
        )
        assert refused.status_code == 401
    assert await edge.metric("edge_terminated_total") == 1
    await serves_a_normal_client(edge, deltas)


async def test_revoked_user_closes_every_socket_of_theirs(edges: EdgeFactory, deltas: Deltas, own_user: Any) -> None:
    edge = await edges()
    user = own_user("analyst")
    second = await asyncio.to_thread(run_cli, "users", "token", user.email)
    second_token = second.stdout.strip().splitlines()[-1]
    async with raw_client(edge) as one, raw_client(edge) as two:
        await authorized(edge, one, user.token, "presence-dashboard")
        await authorized(edge, two, second_token, f"private-user.{user.id}")
        await asyncio.to_thread(run_cli, "users", "revoke", "--email", user.email)
        assert await closed_with(one, BOUND) == 4009
        assert await closed_with(two, BOUND) == 4009
    await serves_a_normal_client(edge, deltas)


async def test_terminate_connections_reaches_every_edge(
    edges: EdgeFactory, deltas: Deltas, own_user: Any, tokens: dict[str, str]
) -> None:
    a = await edges("a")
    b = await edges("b")
    user = own_user("admin")
    async with raw_client(b) as victim, raw_client(b) as bystander, raw_client(a) as on_a:
        await authorized(b, victim, user.token)
        await authorized(b, bystander, tokens["admin"])
        await authorized(a, on_a, user.token)
        path = f"/apps/{APP_ID}/users/{user.id}/terminate_connections"
        async with httpx.AsyncClient(base_url=a.base, timeout=10) as http:
            unsigned = await http.post(path)
            assert unsigned.status_code == 401
            for bad_id in ("\uff11", "a b", "x" * 201):  # signed, but not a user id
                bad_path = f"/apps/{APP_ID}/users/{bad_id}/terminate_connections"
                refused = await http.post(quote(bad_path), params=signed("POST", bad_path))
                assert refused.status_code == 400, (bad_id, refused.status_code, refused.text)
            answer = await http.post(path, params=signed("POST", path))
            assert answer.status_code == 200, answer.text
        assert await closed_with(victim, BOUND) == 4009  # on the other edge, through Kafka
        assert await closed_with(on_a, BOUND) == 4009
        # the official SDK's call (its own path, without /apps/{id}; it raises unless answered 2xx)
        other = own_user("admin")
        async with raw_client(b) as second:
            await authorized(b, second, other.token)
            await asyncio.to_thread(official(a).terminate_user_connections, str(other.id))
            assert await closed_with(second, BOUND) == 4009
        await deltas.send(CHANNEL, "SalesUpdated", {"n": 1})
        frame = await bystander.recv(within=15, what="a delta for the other user")
        assert frame["event"] == "SalesUpdated"
    await serves_a_normal_client(a, deltas)
    await serves_a_normal_client(b, deltas)
