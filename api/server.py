"""How uvicorn serves the edge: the websocket options that follow from `EdgeSettings`.

One place for `chinook-pulse edge` and the fan-out bench, so both run the same websocket layer.
"""

from __future__ import annotations

from typing import Any

from schemas.settings import EdgeSettings


def websocket_options(config: EdgeSettings) -> dict[str, Any]:
    """Keyword arguments of `uvicorn.run` / `uvicorn.Config` for the websocket layer."""
    return {
        # The websocket implementation whose sockets the edge writes directly (api/wire.py); under
        # another one every frame goes through ASGI send, correct but slower.
        "ws": "websockets-sansio",
        # A hard cap well above EDGE_MAX_MESSAGE_BYTES: the edge answers frames between the two with
        # a pusher:error; beyond this the websocket layer closes with 1009.
        "ws_max_size": max(4 * config.max_message_bytes, 65_536),
        # Compression is per connection: with it on, each broadcast frame is deflated once per
        # subscriber and each connection keeps its own zlib streams.
        "ws_per_message_deflate": config.per_message_deflate,
    }
