from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ops.commands.dlq import fold_repeats
from schemas.dead_letter import DeadLetter

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def letter(offset: int, minutes: int, reason: str) -> DeadLetter:
    return DeadLetter(
        source_topic="chinook.public.track",
        partition=1,
        offset=offset,
        timestamp_ms=None,
        key=b"k",
        value=b"v",
        reason=reason,
        failed_at=T0 + timedelta(minutes=minutes),
    )


def test_a_record_dead_lettered_again_is_kept_once_with_its_latest_failure() -> None:
    first, other, again = letter(7, 0, "old reason"), letter(8, 1, "other"), letter(7, 2, "new reason")
    assert fold_repeats([first, other, again]) == [again, other]


def test_an_earlier_failure_read_later_does_not_replace_the_latest() -> None:
    late, early = letter(7, 5, "late"), letter(7, 1, "early")
    assert fold_repeats([late, early]) == [late]


def test_distinct_records_are_all_kept_in_order() -> None:
    letters = [letter(n, n, f"r{n}") for n in range(5)]
    assert fold_repeats(letters) == letters
