"""`chinook-pulse edge`: the Pusher-compatible websocket edge (uvicorn on PUSHER_HOST:PUSHER_PORT)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from schemas.settings import get_settings


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "edge", help="run the websocket edge (Pusher protocol 7, /broadcasting/auth, HTTP API)"
    )
    parser.add_argument("--host", help="listen address (default PUSHER_HOST)")
    parser.add_argument("--port", type=int, help="listen port (default PUSHER_PORT)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.set_defaults(func=run_edge)


def run_edge(args: argparse.Namespace) -> int:
    import uvicorn

    from api.server import websocket_options

    settings = get_settings()
    problem = settings.published_secret_problem()
    if problem is not None:
        print(f"chinook-pulse edge: {problem}", file=sys.stderr)
        return 2
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=args.host or settings.pusher_host,
        port=args.port or settings.pusher_port,
        log_level=args.log_level,
        lifespan="on",
        **websocket_options(settings.edge),
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    return 0
