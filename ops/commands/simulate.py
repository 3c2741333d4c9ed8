"""`chinook-pulse simulate`: live store traffic at a configurable rate."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Any

from sqlalchemy import create_engine

from ops.simulator import Simulator, parse_mix
from schemas.settings import get_settings


def register(subparsers: Any) -> None:
    settings = get_settings()
    parser: argparse.ArgumentParser = subparsers.add_parser("simulate", help="write realistic store traffic")
    parser.add_argument("--rate", type=float, default=settings.simulator_rate, help="actions per second (0: max)")
    parser.add_argument("--seed", type=int, default=settings.simulator_seed, help="random seed (deterministic)")
    parser.add_argument(
        "--mix", default=settings.simulator_mix, help="action weights, e.g. new_invoice=80,delete_invoice=0"
    )
    parser.add_argument("--count", type=int, default=None, help="stop after this many actions")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        weights = parse_mix(args.mix)
    except ValueError as exc:
        print(f"chinook-pulse simulate: {exc}", file=sys.stderr)
        return 2
    engine = create_engine(get_settings().sqlalchemy_url, pool_pre_ping=True)
    simulator = Simulator(engine, seed=args.seed, weights=weights)
    stats = simulator.run(args.rate, count=args.count, duration=args.duration, should_stop=lambda: stopping)
    print(f"simulated {sum(stats.actions.values())} actions: {stats.summary()}", flush=True)
    return 0
