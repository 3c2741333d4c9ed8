"""`chinook-pulse`: one command line, one subcommand per module.

Each module listed in `COMMAND_MODULES` exposes `register(subparsers) -> None`, which adds its
subcommand(s) and sets `func` on the parser to a callable `(args) -> int` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "ops.commands.stack",  # up, down, status (the local stack)
    "ops.commands.db",  # db init
    "ops.commands.simulate",  # simulate
    "ops.commands.tail",  # tail TOPIC
    "ops.commands.worker",  # worker
    "ops.commands.edge",  # edge (the websocket edge)
    "ops.commands.users",  # users token EMAIL, users revoke
    "ops.commands.replay",  # replay TOPIC (offsets or instants, to a target topic)
    "ops.commands.rebuild",  # rebuild (fresh state and changelogs from the change topics)
    "ops.commands.dlq",  # dlq list, dlq replay
    "ops.commands.lag",  # lag (worker group and edges)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chinook-pulse", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module: surface it
                raise
            continue  # a command module not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
