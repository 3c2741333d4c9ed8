"""The retention rule: which days are closed for good, and which stored facts go."""

from __future__ import annotations

from datetime import date

from stream.ownership import partition_of
from stream.retention import cutoff, expired, keys_to_prune


def test_without_retention_every_day_is_kept() -> None:
    assert cutoff(date(2026, 11, 26), None) is None
    assert not expired(date(2001, 1, 1), None, date(2026, 11, 26))


def test_days_before_the_cutoff_expire() -> None:
    now = date(2026, 11, 26)
    assert cutoff(now, 30) == date(2026, 10, 27)
    assert expired(date(2026, 10, 26), 30, now)
    assert not expired(date(2026, 10, 27), 30, now)
    assert not expired(now, 0, now)


def test_only_old_keys_of_the_given_partition_are_pruned() -> None:
    keys = [f"{d}|{i}".encode() for d in ("2021-01-01", "2021-01-02", "2026-11-26") for i in (1, 2)]
    first_kept = date(2026, 1, 1)
    pruned = set()
    for partition in range(3):
        chosen = keys_to_prune(keys, partition, first_kept)
        assert all(partition_of(k.split(b"|")[0]) == partition for k in chosen)
        pruned |= set(chosen)
    assert pruned == {k for k in keys if not k.startswith(b"2026")}
