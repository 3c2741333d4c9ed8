"""The simulator's corrections move invoices only into the past; its mix of actions is configurable."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from ops.simulator import ACTION_WEIGHTS, Simulator, backdate, parse_mix


def test_a_moved_invoice_is_always_backdated_by_one_or_two_days() -> None:
    rng = random.Random(3)
    shifts = [backdate(rng) for _ in range(2000)]
    assert all(s < timedelta(0) for s in shifts)
    assert {-(s.days) for s in shifts} <= {1, 2, 3}  # timedelta normalises -1 day 30 min to days=-2
    assert min(shifts) >= -timedelta(days=2, minutes=90)
    assert max(shifts) <= -timedelta(days=1)


def test_the_mix_changes_only_the_weights_it_names() -> None:
    weights = parse_mix("new_invoice=80, delete_invoice=0")
    assert weights["new_invoice"] == 80 and weights["delete_invoice"] == 0
    assert {k: v for k, v in weights.items() if k not in ("new_invoice", "delete_invoice")} == {
        k: v for k, v in ACTION_WEIGHTS.items() if k not in ("new_invoice", "delete_invoice")
    }
    assert parse_mix("") == ACTION_WEIGHTS


@pytest.mark.parametrize(
    ("text", "says"),
    [("refund=3", "refund"), ("new_invoice", "action=weight"), ("new_invoice=lots", "whole number"),
     ("new_invoice=-1", "negative"), (",".join(f"{name}=0" for name in ACTION_WEIGHTS), "every action")],
)  # fmt: skip
def test_a_bad_mix_is_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_mix(text)


def test_a_simulator_only_chooses_actions_with_weight() -> None:
    only = {name: 0 for name in ACTION_WEIGHTS} | {"touch_users": 1, "new_invoice": 3}
    simulator = Simulator(create_engine("sqlite://"), seed=1, weights=only)
    chosen = Counter(simulator.choose() for _ in range(2000))
    assert set(chosen) == {"touch_users", "new_invoice"}
    assert 2.5 < chosen["new_invoice"] / chosen["touch_users"] < 3.5


def test_an_action_another_writer_invalidated_is_rolled_back_and_counted() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    simulator = Simulator(engine, seed=1)

    def collide(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")  # the row someone else holds: IntegrityError

    simulator.collide = collide  # type: ignore[attr-defined]
    assert simulator.step("collide") == "collide"
    assert simulator.stats.skipped == Counter({"collide": 1}) and not simulator.stats.actions
    with engine.connect() as conn:
        assert [r[0] for r in conn.exec_driver_sql("SELECT id FROM t")] == [1]  # its whole transaction undone
    assert "skipped: collide=1" in simulator.stats.summary()
