"""The simulator's corrections move invoices only into the past."""

from __future__ import annotations

import random
from datetime import timedelta

from ops.simulator import backdate


def test_a_moved_invoice_is_always_backdated_by_one_or_two_days() -> None:
    rng = random.Random(3)
    shifts = [backdate(rng) for _ in range(2000)]
    assert all(s < timedelta(0) for s in shifts)
    assert {-(s.days) for s in shifts} <= {1, 2, 3}  # timedelta normalises -1 day 30 min to days=-2
    assert min(shifts) >= -timedelta(days=2, minutes=90)
    assert max(shifts) <= -timedelta(days=1)
