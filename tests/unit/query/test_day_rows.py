from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from api.query.catalogue import TABLES
from api.query.params import parse_query
from api.query.rows import select
from schemas.settings import QuerySettings
from tables.contributions import Contribution, TrackSale
from tables.day_rows import DayBreakdown, local_days
from tables.day_sales import DaySales
from tables.reference import ReferenceData

DAY = date(2024, 5, 28)


def day_sales() -> DaySales:
    sales = DaySales(DAY)
    sales.apply(1, Contribution(Decimal("1.98"), 61, "Brazil", {7: TrackSale(2, Decimal("1.98"))}))
    sales.apply(2, Contribution(Decimal("0.99"), 61, "Canada", {8: TrackSale(1, Decimal("0.99"))}))
    sales.apply(3, Contribution(Decimal("5.00"), 1439, None, {7: TrackSale(1, Decimal("0.99"))}))
    sales.apply(4, Contribution(Decimal("9.99"), 5, "Brazil", {}))
    sales.apply(4, None)  # retracted: its minute is gone again
    return sales


def test_rows_in_utc() -> None:
    b = DayBreakdown.from_json(DAY, DayBreakdown.from_sales(DAY, day_sales(), ReferenceData()).to_json())
    minutes = b.minute_rows("UTC")
    assert [(r["window_start"], r["total"], r["invoice_count"]) for r in minutes] == [
        (datetime(2024, 5, 28, 1, 1, tzinfo=UTC), Decimal("2.97"), 2),
        (datetime(2024, 5, 28, 23, 59, tzinfo=UTC), Decimal("5.00"), 1),
    ]
    assert minutes[-1]["window_end"] == datetime(2024, 5, 29, tzinfo=UTC)
    assert [(r["window_start"].hour, r["invoice_count"]) for r in b.hour_rows("UTC")] == [(1, 2), (23, 1)]
    assert [(r["total"], r["invoice_count"]) for r in b.day_rows("UTC")] == [(Decimal("7.97"), 3)]
    assert [(r["country"], r["total"]) for r in b.country_rows("UTC")] == [
        ("Unknown", Decimal("5.00")),
        ("Brazil", Decimal("1.98")),
        ("Canada", Decimal("0.99")),
    ]
    assert [(r["rank"], r["track_id"], r["units"]) for r in b.track_rows("UTC")] == [(1, 7, 3), (2, 8, 1)]
    assert [(r["genre"], r["total"]) for r in b.genre_rows("UTC")] == [("Unknown", Decimal("3.96"))]


def test_local_windows_and_days() -> None:
    b = DayBreakdown.from_sales(DAY, day_sales(), ReferenceData())
    first = b.minute_rows("Europe/Berlin")[0]
    assert first["window_start"] == datetime(2024, 5, 27, 23, 1, tzinfo=UTC)
    assert b.day_rows("Europe/Berlin")[0]["window_start"] == datetime(2024, 5, 27, 22, tzinfo=UTC)
    start, end = datetime(2024, 5, 27, 22, tzinfo=UTC), datetime(2024, 5, 28, 22, tzinfo=UTC)
    assert local_days(start, end, "Europe/Berlin") == (DAY, DAY)
    assert local_days(start, end, "UTC") == (date(2024, 5, 27), DAY)


def test_select_range_key_and_top() -> None:
    b = DayBreakdown.from_sales(DAY, day_sales(), ReferenceData())
    config = QuerySettings(worker_urls=["http://127.0.0.1:1"])

    def query(table: str, **params: str):  # type: ignore[no-untyped-def]
        return parse_query(TABLES[table], {k: [v] for k, v in params.items()}, "", "UTC", config)

    rows = b.minute_rows("UTC")
    assert (
        len(select(rows, query("sales", window="minute", **{"from": "2024-05-28T01:01:00Z", "to": "2024-05-29"}))) == 2
    )
    assert (
        len(select(rows, query("sales", window="minute", **{"from": "2024-05-28T01:02:00Z", "to": "2024-05-29"}))) == 1
    )
    countries = b.country_rows("UTC")
    day = {"from": "2024-05-28", "to": "2024-05-29"}
    assert [r["country"] for r in select(countries, query("sales_by_country", top="2", **day))] == ["Unknown", "Brazil"]
    assert [r["country"] for r in select(countries, query("sales_by_country", key="Canada", **day))] == ["Canada"]
    tracks = b.track_rows("UTC")
    assert [r["rank"] for r in select(tracks, query("popular_tracks", key="8", **day))] == [2]
