"""The websocket layer uvicorn runs the edge with: permessage-deflate only when EDGE_PER_MESSAGE_DEFLATE is on."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
from websockets.asyncio.client import connect

from api.app import create_app
from api.server import websocket_options
from api.state import Edge
from api.tokens import MemoryTokenStore
from api.triggers import MemorySink
from schemas.settings import EdgeSettings, Settings
from tests.support.edge_harness import APP_ID, KEY, SECRET
from tests.support.ports import free_port


@contextlib.asynccontextmanager
async def serving(config: EdgeSettings) -> AsyncIterator[int]:
    """The edge under a real uvicorn (as `chinook-pulse edge` configures it) on a free port."""
    async with serving_edge(config) as (port, _):
        yield port


@contextlib.asynccontextmanager
async def serving_edge(config: EdgeSettings) -> AsyncIterator[tuple[int, Edge]]:
    """`serving`, with the edge's state."""
    settings = Settings(pusher_app_id=APP_ID, pusher_app_key=KEY, pusher_app_secret=SECRET, edge=config)
    app = create_app(settings, tokens=MemoryTokenStore(), sink=MemorySink())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **websocket_options(config)
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.02)
        assert server.started, "uvicorn did not start within 10 s"
        yield port, app.state.edge
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def test_defaults() -> None:
    options = websocket_options(EdgeSettings(consume=False))
    assert options == {"ws": "websockets-sansio", "ws_max_size": 65_536, "ws_per_message_deflate": False}


@pytest.mark.parametrize("deflate", [False, True])
async def test_permessage_deflate_is_negotiated_only_when_enabled(deflate: bool) -> None:
    config = EdgeSettings(consume=False, per_message_deflate=deflate)
    async with serving(config) as port:
        # websockets offers permessage-deflate by default, as browsers do
        async with connect(f"ws://127.0.0.1:{port}/app/{KEY}?protocol=7") as ws:
            assert ws.response is not None
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
            assert (extensions is not None and "permessage-deflate" in extensions) is deflate, extensions
            hello = json.loads(await ws.recv())
            assert hello["event"] == "pusher:connection_established"
            await ws.send(json.dumps({"event": "pusher:ping", "data": {}}))
            assert json.loads(await ws.recv())["event"] == "pusher:pong"
