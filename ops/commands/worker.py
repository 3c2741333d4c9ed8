"""`chinook-pulse worker`: the Faust stream worker (start several to scale out)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("worker", help="run the stream worker")
    parser.add_argument("--web-port", type=int, default=None, help="Faust web port (default WORKER_WEB_PORT)")
    parser.add_argument("--loglevel", default="INFO")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stream.worker import run_worker

    return run_worker(web_port=args.web_port, loglevel=args.loglevel)
