"""Every component of the local stack, in start order (stopped in reverse).

To add one: subclass `Component` (or `App` for a `chinook-pulse <subcommand>`) and list it here.
"""

from __future__ import annotations

from .apps import Edge, Simulator, Worker
from .component import Component
from .connect import Connect
from .kafka import Kafka
from .postgres import Postgres

COMPONENTS: tuple[Component, ...] = (Postgres(), Kafka(), Connect(), Worker(), Edge(), Simulator())

#: Components that make store traffic (left out by `up --no-traffic`).
TRAFFIC: frozenset[str] = frozenset({"simulator"})

NAMES: tuple[str, ...] = tuple(c.name for c in COMPONENTS)


def by_name(name: str) -> Component:
    for component in COMPONENTS:
        if component.name == name:
            return component
    raise KeyError(name)
