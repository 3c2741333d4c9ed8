"""`chinook-pulse db init`: create the schema and load the Chinook rows (idempotent)."""

from __future__ import annotations

import argparse
from typing import Any

from schemas.settings import get_settings
from tables.load import init_database


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("db", help="source database tasks")
    db_sub = parser.add_subparsers(dest="db_command", metavar="TASK", required=True)
    init = db_sub.add_parser("init", help="create database, schema, Chinook rows and seeded users")
    init.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    init_database(get_settings())
    print("database ready")
    return 0
