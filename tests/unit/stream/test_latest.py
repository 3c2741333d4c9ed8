"""Each invoice list fact publishes the event its transition calls for, even on a freshly rebuilt list."""

from __future__ import annotations

from typing import Any

from schemas import jsonio
from stream.latest import LatestCache, take_fact


def fact_msg(invoice_id: int, rev: int, op: str, total: str | None = "1.98") -> dict[str, Any]:
    fact = None if total is None else ["2026-11-26T10:00:00+00:00", 7, total]
    return {"id": invoice_id, "rev": rev, "op": op, "fact": fact}


def stored(facts: dict[bytes, bytes], *msgs: dict[str, Any]) -> None:
    for m in msgs:
        facts[str(m["id"]).encode()] = jsonio.dumps({"rev": m["rev"], "fact": m["fact"]})


def test_a_new_invoice_right_after_a_rebalance_is_created() -> None:
    facts: dict[bytes, bytes] = {}
    stored(facts, fact_msg(1, 3, "c"))
    cache = LatestCache(facts)  # invalid, as after a rebalance: rebuilt from the table on first use
    taken = take_fact(fact_msg(2, 1, "c"), facts, cache)
    assert taken is not None
    name, subject, latest = taken
    assert (name, subject.invoice_id) == ("InvoiceCreated", 2)
    assert [f.invoice_id for f in latest.newest()] == [2, 1]


def test_changes_deletes_and_redeliveries() -> None:
    facts: dict[bytes, bytes] = {}
    cache = LatestCache(facts)
    created = take_fact(fact_msg(5, 1, "c"), facts, cache)
    assert created is not None and created[0] == "InvoiceCreated"
    assert take_fact(fact_msg(5, 1, "c"), facts, cache) is None  # redelivered: stale
    updated = take_fact(fact_msg(5, 2, "u", total="3.96"), facts, cache)
    assert updated is not None and updated[0] == "InvoiceUpdated"
    assert take_fact(fact_msg(5, 3, "u", total="3.96"), facts, cache) is None  # same fact: nothing to tell
    deleted = take_fact(fact_msg(5, 4, "d", total=None), facts, cache)
    assert deleted is not None and deleted[0] == "InvoiceDeleted"
    assert take_fact(fact_msg(6, 1, "r"), facts, cache) is None  # a snapshot row publishes nothing
