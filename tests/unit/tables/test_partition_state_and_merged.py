"""A partition's absolute records, and the merge of partitions: exact through repeats and snapshots."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tables.invoice_state import InvoiceRow, LineRow
from tables.merged import MergedView
from tables.partition_state import PartitionState

DAY = date(2026, 12, 2)
WHEN = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)


def sale(state: PartitionState, invoice_id: int, lsn: int, track: int, price: str, qty: int = 1) -> None:
    total = Decimal(price) * qty
    state.apply_invoice(invoice_id, (lsn, lsn, 1), InvoiceRow(1, WHEN, "Brazil", total), "c")
    state.apply_line(invoice_id, invoice_id * 10, (lsn, lsn + 1, 1), LineRow(track, Decimal(price), qty))


def test_a_batch_record_holds_absolute_values_and_a_repeat_gives_the_same() -> None:
    part = PartitionState(0, "UTC")
    sale(part, 1, 100, track=7, price="0.99", qty=2)
    first = part.take_changes()
    assert first is not None
    assert first["days"]["2026-12-02"]["sum"] == ["1.98", 1]
    assert first["days"]["2026-12-02"]["tracks"] == {"7": [2, "1.98"]}
    assert [e[0] for e in first["events"]] == ["InvoiceCreated"]
    sale(part, 1, 100, track=7, price="0.99", qty=2)  # redelivered: changes nothing
    repeat = part.take_changes()
    assert repeat is not None and repeat["days"] == first["days"] and repeat["events"] == []


def test_a_deleted_invoice_leaves_its_day_and_says_so() -> None:
    part = PartitionState(0, "UTC")
    sale(part, 1, 100, track=7, price="0.99")
    part.take_changes()
    part.apply_invoice(1, (200, 200, 0), None, "d")
    record = part.take_changes()
    assert record is not None
    assert record["days"]["2026-12-02"]["sum"] is None and record["days"]["2026-12-02"]["tracks"] == {"7": None}
    assert record["invoices"] == {"1": None}
    assert [e[0] for e in record["events"]] == ["InvoiceDeleted"]


def test_the_merge_sums_partitions_and_ranks_tracks_on_full_counts() -> None:
    a, b = PartitionState(0, "UTC"), PartitionState(1, "UTC")
    sale(a, 1, 100, track=7, price="0.99", qty=3)
    sale(a, 2, 110, track=8, price="1.99", qty=2)
    sale(b, 3, 120, track=8, price="1.99", qty=2)
    view = MergedView(2)
    for part in (a, b):
        part.take_changes()  # the owner snapshots state it has taken the changes of
        for record in part.snapshot("s1"):
            view.apply(record)
    assert view.ready
    merged = view.day(DAY)
    assert merged is not None
    assert merged.sums.total == Decimal("10.93") and merged.sums.invoice_count == 3
    assert merged.by_track[8].units == 4  # top track only across partitions (3 vs 2 + 2)
    assert [f.invoice_id for f in view.latest.newest(10)] == [3, 2, 1]  # same date: newest id first


def test_a_repeated_record_changes_nothing_and_a_snapshot_replaces_the_partition() -> None:
    a = PartitionState(0, "UTC")
    view = MergedView(1)
    for record in a.snapshot("s0"):
        view.apply(record)
    sale(a, 1, 100, track=7, price="0.99")
    record = a.take_changes()
    assert record is not None
    view.apply(record)
    view.apply(record)  # redelivered to the merger
    merged = view.day(DAY)
    assert merged is not None and merged.sums.invoice_count == 1
    wrong = {"p": 0, "days": {"2026-12-02": {"sum": ["999.00", 9]}}, "invoices": {}, "users": {}, "events": []}
    view.apply(wrong)
    for snap in a.snapshot("s1"):  # the owner's whole state puts it right
        view.apply(snap)
    merged = view.day(DAY)
    assert merged is not None and merged.sums.total == Decimal("0.99") and merged.sums.invoice_count == 1


def test_a_merged_day_kept_up_to_date_equals_merging_the_partitions_again() -> None:
    """The merged day moves by each record's differences; merging every partition afresh agrees."""
    import random

    rng = random.Random(5)
    parts = [PartitionState(p, "UTC") for p in range(3)]
    view = MergedView(3)
    for part in parts:
        for record in part.snapshot("s"):
            view.apply(record)
    for step in range(400):
        p = rng.randrange(3)
        invoice_id = rng.randrange(40) * 3 + p
        lsn = 1000 + step * 10
        if rng.random() < 0.2:
            parts[p].apply_invoice(invoice_id, (lsn, lsn, 0), None, "d")
        else:
            sale(
                parts[p],
                invoice_id,
                lsn,
                track=rng.randrange(1, 9),
                price=rng.choice(["0.99", "1.99"]),
                qty=rng.randint(1, 3),
            )
        record = parts[p].take_changes()
        if record is not None:
            view.apply(record)
        if step % 7 == 0:
            view.day(DAY)  # merged now: later records move it by their differences
    kept = view.day(DAY)
    view._merged.clear()
    fresh = view.day(DAY)
    assert kept is not None and fresh is not None
    assert (kept.sums.total, kept.sums.invoice_count) == (fresh.sums.total, fresh.sums.invoice_count)
    assert {m: (s.total, s.invoice_count) for m, s in kept.by_minute.items()} == {
        m: (s.total, s.invoice_count) for m, s in fresh.by_minute.items()
    }
    assert {c: (s.total, s.invoice_count) for c, s in kept.by_country.items()} == {
        c: (s.total, s.invoice_count) for c, s in fresh.by_country.items()
    }
    assert {t: (s.units, s.revenue) for t, s in kept.by_track.items()} == {
        t: (s.units, s.revenue) for t, s in fresh.by_track.items()
    }
    assert fresh.sums.invoice_count > 0
