"""A partition behind its end whose offsets stop moving is found stalled, and only then."""

from __future__ import annotations

from faust.types import TP

from stream.stall_guard import StallWatch

TP0 = TP("pulse.day-contributions", 0)


def test_a_partition_that_stops_while_behind_is_stalled_after_the_allowed_time() -> None:
    watch = StallWatch(after_s=20, max_s=160)
    assert not watch.observe(TP0, 21, 40, 323, acked=False, now=0)
    assert not watch.observe(TP0, 21, 40, 323, acked=False, now=19.9)
    assert watch.observe(TP0, 21, 40, 323, acked=False, now=20)


def test_progress_of_the_commit_or_the_reads_restarts_the_clock() -> None:
    watch = StallWatch(after_s=20, max_s=160)
    watch.observe(TP0, 21, 40, 323, acked=False, now=0)
    assert not watch.observe(TP0, 21, 41, 323, acked=False, now=15)  # one more event read
    assert not watch.observe(TP0, 22, 41, 323, acked=False, now=30)  # a commit
    assert not watch.observe(TP0, 22, 41, 323, acked=False, now=49)
    assert watch.observe(TP0, 22, 41, 323, acked=False, now=50)


def test_caught_up_unstarted_or_holed_partitions_are_never_stalled() -> None:
    watch = StallWatch(after_s=20, max_s=160)
    for now in (0, 30, 60, 90):
        assert not watch.observe(TP0, 323, 322, 323, acked=False, now=now)  # nothing left to read
        assert not watch.observe(TP("t", 1), None, None, 323, acked=False, now=now)  # base not known yet
        assert not watch.observe(TP("t", 2), 21, 40, 323, acked=True, now=now)  # a hole: the commit guard's


def test_repeated_stalls_back_off_and_a_commit_ends_the_back_off() -> None:
    watch = StallWatch(after_s=20, max_s=60)
    watch.observe(TP0, 21, 40, 323, acked=False, now=0)
    assert watch.observe(TP0, 21, 40, 323, acked=False, now=20)
    assert watch.observe(TP0, 21, 21, 323, acked=False, now=30) is False  # the re-read starts: clock restarts
    assert not watch.observe(TP0, 21, 21, 323, acked=False, now=69)  # now 40 s are allowed
    assert watch.observe(TP0, 21, 21, 323, acked=False, now=70)
    assert not watch.observe(TP0, 21, 21, 323, acked=False, now=129)  # capped at 60 s
    assert watch.observe(TP0, 21, 21, 323, acked=False, now=130)
    assert not watch.observe(TP0, 30, 35, 323, acked=False, now=131)  # a commit
    assert not watch.observe(TP0, 30, 35, 323, acked=False, now=150)
    assert watch.observe(TP0, 30, 35, 323, acked=False, now=151)  # back to 20 s


def test_a_rebalance_forgets_every_partition() -> None:
    watch = StallWatch(after_s=20, max_s=160)
    watch.observe(TP0, 21, 40, 323, acked=False, now=0)
    watch.forget()
    assert not watch.observe(TP0, 21, 40, 323, acked=False, now=25)
    assert watch.observe(TP0, 21, 40, 323, acked=False, now=45)
