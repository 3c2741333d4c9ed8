"""`chinook-pulse users token EMAIL` and `users revoke`: dashboard API tokens (stored hashed)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from schemas.settings import get_settings


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("users", help="dashboard users' API tokens")
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    token = actions.add_parser("token", help="issue a new token for a user; printed once, as the last line")
    token.add_argument("email")
    token.add_argument("--label", help="a note stored with the token (e.g. which dashboard)")
    token.set_defaults(func=run_token)
    revoke = actions.add_parser("revoke", help="revoke one token (read from stdin) or all of a user's")
    who = revoke.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="revoke every token of this user")
    who.add_argument("--token-stdin", action="store_true", help="revoke the token given on standard input")
    revoke.set_defaults(func=run_revoke)


def _store() -> Any:
    from api.tokens import SqlTokenStore

    return SqlTokenStore(get_settings().sqlalchemy_url)


def run_token(args: argparse.Namespace) -> int:
    from api.tokens import UnknownUser

    store = _store()
    try:
        token = store.issue(args.email, args.label)
    except UnknownUser:
        print(f"chinook-pulse users token: no user with email {args.email}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"token for {args.email} (shown once; only its sha256 is stored):", file=sys.stderr)
    print(token)
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from api.tokens import UnknownUser

    store = _store()
    try:
        if args.email:
            count = store.revoke_user(args.email)
        else:
            count = store.revoke_token(sys.stdin.readline().strip())
    except UnknownUser:
        print(f"chinook-pulse users revoke: no user with email {args.email}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"revoked {count} token(s)")
    return 0 if count else 1
