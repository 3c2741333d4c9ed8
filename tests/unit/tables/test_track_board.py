"""The track board equals counting and ranking every track, through sales, returns, moves between
partitions' values, new merged days and reference changes."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from schemas.records import Genre, Track
from tables.contributions import Contribution, TrackSale
from tables.day_sales import DaySales
from tables.merged import MergedView
from tables.reference import ReferenceData
from tables.track_board import TrackBoard
from tables.views import genre_revenue, top_tracks

DAY = date(2024, 5, 21)
TRACKS = 40


def reference(rng: random.Random) -> ReferenceData:
    ref = ReferenceData()
    for g in range(4):
        ref.put(Genre(g, f"G{g}"))
    for t in range(TRACKS):
        ref.put(Track(t, f"T{t}", None, rng.randrange(5), Decimal("0.99")))  # genre 4 is unknown
    return ref


def assert_board_is_exact(board: TrackBoard, sales: DaySales | None, ref: ReferenceData) -> None:
    board.follow(sales, ref)
    if sales is None:
        assert (board.by_genre, board.top) == ({}, [])
        return
    nonzero = {g: v for g, v in board.by_genre.items() if v != 0}
    assert nonzero == {g: v for g, v in genre_revenue(sales, ref).items() if v != 0}
    assert board.top == top_tracks(sales, board.n)


def test_following_a_day_sales_equals_counting_it_again() -> None:
    rng = random.Random(7)
    ref = reference(rng)
    sales, board = DaySales(DAY), TrackBoard(n=5)
    for step in range(3000):
        invoice = rng.randrange(60)
        if rng.random() < 0.25:
            sales.apply(invoice, None)  # deleted: its tracks lose units (the top may fall)
        else:
            lines = {rng.randrange(TRACKS): TrackSale(rng.randint(1, 3), Decimal(rng.randint(1, 300)) / 100)}
            total = sum((s.revenue for s in lines.values()), Decimal(0))
            sales.apply(invoice, Contribution(total, rng.randrange(1440), "Norway", lines))
        if rng.random() < 0.01:  # a track moves to another genre
            t = rng.randrange(TRACKS)
            ref.put(Track(t, f"T{t}", None, rng.randrange(5), Decimal("0.99")))
        if step % rng.choice((1, 1, 3, 17)) == 0:
            assert_board_is_exact(board, sales, ref)
        if rng.random() < 0.002:
            sales = DaySales(DAY)  # a new day (or a merged day built again)
            for i in range(rng.randrange(5)):
                sales.apply(i, Contribution(Decimal(1), 0, None, {i: TrackSale(1, Decimal(1))}))
    assert_board_is_exact(board, None, ref)


def test_following_a_merged_day_equals_counting_it_again() -> None:
    rng = random.Random(11)
    ref = reference(rng)
    view, board = MergedView(3), TrackBoard(n=3)
    for _ in range(2000):
        tracks = {
            str(rng.randrange(TRACKS)): None if rng.random() < 0.3 else [rng.randint(0, 9), str(rng.randint(0, 900))]
            for _ in range(rng.randint(1, 4))
        }
        record = {"p": rng.randrange(3), "days": {DAY.isoformat(): {"sum": ["1", 1], "tracks": tracks}}}
        if rng.random() < 0.01:
            record.update(snap="s", first=True)  # a snapshot starts over: the merged day is built again
        view.apply(record)
        assert_board_is_exact(board, view.day(DAY), ref)
