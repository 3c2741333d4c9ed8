"""`chinook-pulse worker`: the Faust stream worker (start several to scale out)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("worker", help="run the stream worker")
    parser.add_argument("--web-port", type=int, default=None, help="Faust web port (default WORKER_WEB_PORT)")
    parser.add_argument("--loglevel", default="INFO")
    parser.add_argument(
        "--supervise",
        action="store_true",
        help="run the worker as a child process and start it again whenever it exits (as `chinook-pulse up` does)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.supervise:
        from ops.supervise import supervise

        script = Path(sys.executable).parent / "chinook-pulse"
        runner = [str(script)] if script.exists() else [sys.executable, "-m", "ops.cli"]
        command = [*runner, "worker", "--loglevel", args.loglevel]
        if args.web_port is not None:
            command += ["--web-port", str(args.web_port)]
        return supervise(command, "worker")
    if args.web_port is not None:  # the port names the worker's static group membership (stream/app.py)
        import os

        from schemas.settings import get_settings

        os.environ["WORKER_WEB_PORT"] = str(args.web_port)
        get_settings.cache_clear()
    from stream.worker import run_worker

    return run_worker(web_port=args.web_port, loglevel=args.loglevel)
