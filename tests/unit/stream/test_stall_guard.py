"""A partition behind its end whose offsets stop moving while fetches go on is stalled, and only then."""

from __future__ import annotations

from faust.types import TP

from stream.stall_guard import StallWatch

TP0 = TP("pulse.day-contributions", 0)


def watch(max_s: float = 160) -> StallWatch:
    return StallWatch(after_s=20, max_s=max_s, after_rounds=3)


def test_a_partition_that_stops_while_behind_is_stalled_after_the_allowed_time_and_rounds() -> None:
    w = watch()
    assert not w.observe(TP0, 21, 40, 323, acked=False, now=0, rounds=100)
    assert not w.observe(TP0, 21, 40, 323, acked=False, now=19.9, rounds=200)
    assert w.observe(TP0, 21, 40, 323, acked=False, now=20, rounds=200)


def test_no_stall_while_one_big_fetch_is_still_being_handed_on() -> None:
    w = watch()
    w.observe(TP0, 21, 40, 323, acked=False, now=0, rounds=100)
    assert not w.observe(TP0, 21, 40, 323, acked=False, now=30, rounds=102)  # the next fetch may hold it
    assert w.observe(TP0, 21, 40, 323, acked=False, now=35, rounds=103)


def test_progress_of_the_commit_or_the_reads_restarts_the_clock() -> None:
    w = watch()
    w.observe(TP0, 21, 40, 323, acked=False, now=0, rounds=0)
    assert not w.observe(TP0, 21, 41, 323, acked=False, now=15, rounds=10)  # one more event read
    assert not w.observe(TP0, 22, 41, 323, acked=False, now=30, rounds=20)  # a commit
    assert not w.observe(TP0, 22, 41, 323, acked=False, now=49, rounds=30)
    assert w.observe(TP0, 22, 41, 323, acked=False, now=50, rounds=30)


def test_caught_up_unstarted_or_holed_partitions_are_never_stalled() -> None:
    w = watch()
    for now in (0, 30, 60, 90):
        rounds = int(now)
        assert not w.observe(TP0, 323, 322, 323, acked=False, now=now, rounds=rounds)  # nothing left to read
        assert not w.observe(TP("t", 1), None, None, 323, acked=False, now=now, rounds=rounds)  # base unknown
        assert not w.observe(TP("t", 2), 21, 40, 323, acked=True, now=now, rounds=rounds)  # the commit guard's


def test_repeated_stalls_back_off_and_a_commit_ends_the_back_off() -> None:
    w = watch(max_s=60)
    w.observe(TP0, 21, 40, 323, acked=False, now=0, rounds=0)
    assert w.observe(TP0, 21, 40, 323, acked=False, now=20, rounds=10)
    assert not w.observe(TP0, 21, 21, 323, acked=False, now=30, rounds=20)  # the re-read starts: clock restarts
    assert not w.observe(TP0, 21, 21, 323, acked=False, now=69, rounds=40)  # now 40 s are allowed
    assert w.observe(TP0, 21, 21, 323, acked=False, now=70, rounds=40)
    assert not w.observe(TP0, 21, 21, 323, acked=False, now=129, rounds=60)  # capped at 60 s
    assert w.observe(TP0, 21, 21, 323, acked=False, now=130, rounds=60)
    assert not w.observe(TP0, 30, 35, 323, acked=False, now=131, rounds=61)  # a commit
    assert not w.observe(TP0, 30, 35, 323, acked=False, now=150, rounds=70)
    assert w.observe(TP0, 30, 35, 323, acked=False, now=151, rounds=70)  # back to 20 s


def test_a_rebalance_forgets_every_partition() -> None:
    w = watch()
    w.observe(TP0, 21, 40, 323, acked=False, now=0, rounds=0)
    w.forget()
    assert not w.observe(TP0, 21, 40, 323, acked=False, now=25, rounds=10)
    assert w.observe(TP0, 21, 40, 323, acked=False, now=45, rounds=20)
