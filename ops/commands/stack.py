"""`chinook-pulse up|down|status` (the local stack) and `connector render|register`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from ops.stack import runner
from ops.stack.connect_rest import connector_state, put_connector_config
from ops.stack.connector import CONNECTOR_TEMPLATE, render_connector
from ops.stack.errors import StackError
from ops.stack.process import wait_until
from ops.stack.registry import NAMES
from ops.stack.secrets import ensure_secrets
from schemas.settings import PROJECT_ROOT, get_settings

#: The git-ignored file every component reads (they run in PROJECT_ROOT).
ENV_FILE = PROJECT_ROOT / ".env"


def register(subparsers: Any) -> None:
    names = ",".join(NAMES)
    up = subparsers.add_parser("up", help="start the local stack (only what is not running)")
    up.add_argument("--only", metavar="A,B", help=f"start only these components, of {names}")
    up.add_argument("--no-traffic", action="store_true", help="do not start the traffic simulator")
    up.add_argument("--started-file", type=Path, metavar="PATH", help="write the components this call started (a,b)")
    up.set_defaults(func=run_up)

    down = subparsers.add_parser("down", help="stop what this project started, in reverse order")
    down.add_argument("--only", metavar="A,B", help=f"stop only these components, of {names}")
    down.set_defaults(func=run_down)

    generate = subparsers.add_parser("secrets", help="generate the secrets into .env (once; `up` does it too)")
    generate.add_argument("--env-file", type=Path, default=ENV_FILE, help=f"where (default {ENV_FILE})")
    generate.set_defaults(func=run_secrets)

    status = subparsers.add_parser("status", help="each component, its pid and its health")
    status.set_defaults(func=run_status)

    connector = subparsers.add_parser("connector", help="the Debezium connector config")
    actions = connector.add_subparsers(dest="action", metavar="ACTION", required=True)
    render = actions.add_parser("render", help="print the connector config filled from settings")
    render.add_argument("--file", type=Path, default=CONNECTOR_TEMPLATE)
    render.set_defaults(func=run_connector_render)
    reg = actions.add_parser("register", help="create/update it on CONNECT_URL and wait until RUNNING")
    reg.add_argument("--file", type=Path, default=CONNECTOR_TEMPLATE)
    reg.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for Connect, then RUNNING")
    reg.set_defaults(func=run_connector_register)


def _quiet_clients() -> None:
    for name in ("httpx", "httpcore", "aiokafka"):
        logging.getLogger(name).setLevel(logging.WARNING if name != "aiokafka" else logging.CRITICAL)


def _fail(command: str, exc: StackError) -> int:
    print(f"chinook-pulse {command}: {exc}", file=sys.stderr)
    return 1


def _secrets(path: Path | None = None) -> None:
    """Generate the missing secrets into `path` (`.env`), say where they are, read the settings again."""
    print(ensure_secrets(path or ENV_FILE).describe())
    get_settings.cache_clear()


def run_secrets(args: argparse.Namespace) -> int:
    _secrets(args.env_file)
    return 0


def run_up(args: argparse.Namespace) -> int:
    _quiet_clients()
    begin = time.monotonic()
    _secrets()
    try:
        runner.up(
            get_settings(),
            runner.parse_only(args.only),
            traffic=not args.no_traffic,
            started_file=args.started_file,
        )
    except StackError as exc:
        return _fail("up", exc)
    logs = get_settings().run_dir / "logs"
    print(f"up in {time.monotonic() - begin:.1f}s; `chinook-pulse status` shows health, logs in {logs}/")
    return 0


def run_down(args: argparse.Namespace) -> int:
    try:
        runner.down(get_settings(), runner.parse_only(args.only))
    except StackError as exc:
        return _fail("down", exc)
    return 0


def run_status(args: argparse.Namespace) -> int:
    _quiet_clients()
    print(runner.format_status(runner.status(get_settings())))
    return 0


def run_connector_render(args: argparse.Namespace) -> int:
    try:
        print(json.dumps(render_connector(get_settings(), args.file), indent=2))
    except StackError as exc:
        return _fail("connector render", exc)
    return 0


def run_connector_register(args: argparse.Namespace) -> int:
    """For docker-compose's one-shot service: register the same connector file, wait until RUNNING."""
    _quiet_clients()
    settings = get_settings()
    try:
        connector = render_connector(settings, args.file)
        name = connector["name"]
        deadline = time.monotonic() + args.timeout

        def registered() -> bool:
            try:
                put_connector_config(settings.connect_url, name, connector["config"], timeout=10)
            except StackError:
                return False
            return True

        wait_until(f"Kafka Connect at {settings.connect_url}", registered, timeout=args.timeout, interval=2)

        def running() -> bool:
            state = connector_state(settings.connect_url, name)
            if state is not None and state.failed:
                raise StackError(f"{name}: {state.describe()}: {state.trace}")
            return state is not None and state.running

        wait_until(f"connector {name} RUNNING", running, timeout=max(deadline - time.monotonic(), 5.0))
    except StackError as exc:
        return _fail("connector register", exc)
    print(f"connector {name} RUNNING on {settings.connect_url}")
    return 0
