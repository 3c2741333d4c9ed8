"""The results of parsing one Kafka record of a Debezium change topic.

`parse_record` (in `schemas.debezium`) returns exactly one of:

- `ChangeEvent`: a create, update, delete or snapshot read of a table the worker uses;
- `Tombstone`: the null-value record Debezium writes after a delete (for log compaction);
- `Skipped`: well-formed but not for us (truncate, logical message, table not used or unknown);
- `ParseFailure`: anything else, with a human-readable reason: send it to the dead-letter topic.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from schemas.records import Record

__all__ = [
    "ChangeEvent",
    "Key",
    "KeyValue",
    "Op",
    "ParseFailure",
    "ParseResult",
    "Position",
    "SkipKind",
    "Skipped",
    "SourceInfo",
    "Tombstone",
]

KeyValue = int | str | float | bool | None
#: The message key's primary-key columns and values, in key order: `(("invoice_id", 412),)`.
Key = tuple[tuple[str, KeyValue], ...]


class Op(enum.StrEnum):
    """Debezium's `op` for row events."""

    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"  # a snapshot row


_OP_RANK = {Op.DELETE: 0, Op.CREATE: 1, Op.UPDATE: 2, Op.READ: 2}


class Position(NamedTuple):
    """Where an event sits in the change stream; compare with `<` / `>`.

    `(commit_lsn, lsn, op_rank)`: `commit_lsn` is the first element of `source.sequence`
    (`lastCommitLsn`; 0 when absent), `lsn` is `source.lsn`. Transactions arrive in commit
    order, so `lastCommitLsn` never decreases, and `lsn` grows within a transaction. A primary
    key update is a delete and a create at the same LSN, hence `op_rank` (delete < create <
    other). Snapshot rows (`source.snapshot`) all share the snapshot's LSN: they are ordered
    before any later streamed change, but not among themselves.
    """

    commit_lsn: int
    lsn: int
    op_rank: int


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The parts of Debezium's `source` block needed for ordering and idempotency."""

    lsn: int | None
    commit_lsn: int | None  # `source.sequence[0]` (lastCommitLsn) when present
    tx_id: int | None
    ts_ms: int | None  # commit time at the source
    snapshot: bool  # true for every snapshot marker ("true", "first", "last", "incremental", ...)


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """A row change of a table the worker uses."""

    op: Op
    table: str
    before: Record | None
    after: Record | None
    key: Key
    source: SourceInfo
    ts_ms: int | None  # when Debezium processed the event

    @property
    def position(self) -> Position | None:
        """The ordering token, or None when the event carries no LSN."""
        lsn = self.source.lsn
        if lsn is None:
            return None
        return Position(self.source.commit_lsn or 0, lsn, _OP_RANK[self.op])

    @property
    def record(self) -> Record:
        """The row's latest known state: `after`, or `before` for a delete."""
        row = self.after if self.after is not None else self.before
        assert row is not None  # the parser guarantees one of the two
        return row


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A null-value record following a delete; only meaningful to log compaction."""

    table: str | None
    key: Key


class SkipKind(enum.StrEnum):
    TRUNCATE = "truncate"  # op "t": log it, the tables cannot follow a TRUNCATE
    MESSAGE = "message"  # op "m": a logical decoding message
    IGNORED_TABLE = "ignored_table"  # captured, but the worker does not use it
    UNKNOWN_TABLE = "unknown_table"  # not a table we capture at all


@dataclass(frozen=True, slots=True)
class Skipped:
    """A well-formed record the worker should not apply (the caller logs it)."""

    kind: SkipKind
    table: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A record that cannot be parsed; route it to the dead-letter topic with `reason`."""

    reason: str
    table: str | None = None


ParseResult = ChangeEvent | Tombstone | Skipped | ParseFailure
