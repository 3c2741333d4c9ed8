"""Row state and day sums are exact under redelivery, reordering of rows and retractions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from schemas.records import Album, Artist, Customer, Genre, Track
from tables.active_users import ActiveUsers
from tables.contributions import Contribution, TrackSale
from tables.day_sales import DaySales
from tables.invoice_state import InvoiceRow, InvoiceState, LineRow
from tables.latest import InvoiceFact, LatestInvoices
from tables.reference import ReferenceData
from tables.views import active_users_updated, invoice_event, popular_tracks_updated, sales_updated

DAY0 = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)

# An event: (kind, row/line id, position, payload or None for delete)
line_strategy = st.tuples(st.integers(1, 4), st.sampled_from([Decimal("0.99"), Decimal("1.99")]), st.integers(1, 3))
invoice_strategy = st.tuples(st.integers(0, 3), st.sampled_from([Decimal("1.98"), Decimal("3.96"), Decimal("0.00")]))
event_strategy = st.one_of(
    st.tuples(st.just("i"), st.just(0), st.one_of(st.none(), invoice_strategy)),
    st.tuples(st.just("l"), st.integers(1, 3), st.one_of(st.none(), line_strategy)),
)


def apply_all(events: list[tuple[str, int, object]], order: list[int]) -> InvoiceState:
    """Apply events (position = index in `events`) in the given delivery order, duplicates allowed."""
    state = InvoiceState(7)
    for i in order:
        kind, line_id, payload = events[i]
        pos = (i, i, 2)
        if kind == "i":
            row = None
            if payload is not None:
                days, total = payload  # type: ignore[misc]
                row = InvoiceRow(1, DAY0 + timedelta(days=days), "Norway", total)
            state.apply_invoice(pos, row, "u")
        else:
            line = None if payload is None else LineRow(*payload)  # type: ignore[misc]
            state.apply_line(line_id, pos, line)
    return state


@settings(max_examples=300, deadline=None)
@given(st.lists(event_strategy, min_size=1, max_size=12), st.data())
def test_redelivery_and_row_interleaving_do_not_change_the_result(events: list, data: st.DataObject) -> None:
    once = apply_all(events, list(range(len(events))))
    # redeliver: every event again after arbitrary later ones, plus old events replayed at the end
    replay = data.draw(st.lists(st.integers(0, len(events) - 1), max_size=20))
    again = apply_all(events, list(range(len(events))) + replay)
    assert again.contributions("UTC") == once.contributions("UTC")
    assert again.row == once.row and again.lines == once.lines


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.one_of(st.none(), st.integers(0, 500))), max_size=40))
def test_day_sums_equal_a_recomputation_from_the_facts(updates: list[tuple[int, int | None]]) -> None:
    day = DaySales(date(2026, 11, 26))
    latest: dict[int, Contribution] = {}
    for invoice_id, cents in updates:
        c = None
        if cents is not None:
            amount = Decimal(cents) / 100
            c = Contribution(
                amount, cents % 1440, ["Norway", "Chile"][cents % 2], {cents % 5: _sale(cents % 3 + 1, amount)}
            )
        day.apply(invoice_id, c)
        if c is None:
            latest.pop(invoice_id, None)
        else:
            latest[invoice_id] = c
    fresh = DaySales(day.day)
    for invoice_id, c in latest.items():
        fresh.apply(invoice_id, c)
    assert day.sums == fresh.sums
    assert dict(day.by_minute) == dict(fresh.by_minute)
    assert dict(day.by_country) == dict(fresh.by_country)
    assert dict(day.by_track) == dict(fresh.by_track)
    assert day.sums.total == sum((c.total for c in latest.values()), Decimal("0.00"))


def _sale(units: int, revenue: Decimal) -> TrackSale:
    return TrackSale(units, revenue)


def test_an_invoice_moved_to_another_day_leaves_the_old_day() -> None:
    state = InvoiceState(1)
    state.apply_line(10, (1, 1, 1), LineRow(3, Decimal("0.99"), 2))
    assert state.contributions("UTC") == {}  # a line before its invoice waits, it is not lost
    state.apply_invoice((2, 2, 2), InvoiceRow(5, DAY0, "Chile", Decimal("1.98")), "c")
    first = state.contributions("UTC")
    assert list(first) == [DAY0.date()] and first[DAY0.date()].tracks[3].units == 2
    state.apply_invoice((3, 3, 2), InvoiceRow(5, DAY0 - timedelta(days=1), "Chile", Decimal("1.98")), "u")
    assert list(state.contributions("UTC")) == [(DAY0 - timedelta(days=1)).date()]
    assert not state.apply_invoice((2, 2, 2), InvoiceRow(5, DAY0, "Chile", Decimal("9.99")), "u")  # stale


def test_days_follow_the_configured_time_zone() -> None:
    state = InvoiceState(1)
    late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    state.apply_invoice((1, 1, 1), InvoiceRow(5, late, "Chile", Decimal("1.00")), "c")
    assert list(state.contributions("UTC")) == [date(2026, 11, 26)]
    assert list(state.contributions("Europe/Oslo")) == [date(2026, 11, 27)]
    assert state.contributions("Europe/Oslo")[date(2026, 11, 27)].minute_of_day == 30


def test_state_round_trips_through_its_stored_form() -> None:
    state = InvoiceState(9)
    state.apply_invoice((1, 2, 2), InvoiceRow(5, DAY0, None, Decimal("12.34")), "c")
    state.apply_line(3, (1, 3, 1), LineRow(4, Decimal("0.99"), 1))
    state.apply_line(4, (1, 4, 1), None)
    state.days.add("2026-11-26")
    assert type(state).from_json(json.loads(json.dumps(state.to_json()))) == state


def test_latest_invoices_order_by_date_then_id_descending() -> None:
    latest = LatestInvoices()
    for i in range(15):
        latest.put(InvoiceFact(i, DAY0 + timedelta(minutes=i % 4), 1, Decimal("1.00")), i)
    newest = latest.newest(10)
    assert [f.invoice_id for f in newest[:3]] == [11, 7, 3]  # minute 3 holds 3, 7, 11: newest id first
    keys = [(f.invoice_date, f.invoice_id) for f in newest]
    assert keys == sorted(keys, reverse=True) and len(newest) == 10
    latest.put(None, newest[0].invoice_id)
    assert newest[0].invoice_id not in [f.invoice_id for f in latest.newest(10)]


def test_active_users_window_is_five_minutes_inclusive() -> None:
    now = DAY0
    users = ActiveUsers()
    users.put(1, now - timedelta(minutes=5))
    users.put(2, now - timedelta(minutes=5, seconds=1))
    users.put(3, now)
    users.put(4, None)
    assert users.count(now) == 2


def test_rendered_views_match_the_documented_contract() -> None:
    ref = ReferenceData()
    ref.put(Customer(1, "Leonie", "Köhler", "Germany"))
    ref.put(Genre(1, "Rock"))
    ref.put(Artist(1, "AC/DC"))
    ref.put(Album(1, "For Those About To Rock", 1))
    ref.put(Track(3, "Fast As a Shark", 1, 1, Decimal("0.99")))
    day = DaySales(DAY0.date())
    day.apply(1, Contribution(Decimal("1.98"), 630, "Germany", {3: _sale(2, Decimal("1.98"))}))
    latest = LatestInvoices()
    fact = InvoiceFact(1, DAY0, 1, Decimal("1.98"))
    latest.put(fact, 1)
    datas = {
        "SalesUpdated": ("private-admin.sales", sales_updated(DAY0.date(), day, ref)),
        "PopularTracksUpdated": ("private-admin.tracks", popular_tracks_updated(DAY0.date(), day, ref)),
        "InvoiceCreated": ("private-admin.invoices", invoice_event(fact, latest, ref)),
        "ActiveUsersUpdated": ("private-admin.users", active_users_updated(ActiveUsers(), DAY0)),
    }
    root = Path(__file__).resolve().parents[3] / "docs" / "deltas"
    for event, (channel, data) in datas.items():
        schema = json.loads((root / f"{event}.schema.json").read_text())
        delta = {"channel": channel, "event": event, "data": data, "seq": 1, "ts_ms": 0}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(delta)]
        assert not errors, (event, errors)
    assert datas["SalesUpdated"][1]["by_genre"] == {"Rock": "1.98"}
    assert datas["SalesUpdated"][1]["hourly"][10] == "1.98"
    assert datas["PopularTracksUpdated"][1]["top"][0]["artist"] == "AC/DC"
    assert datas["InvoiceCreated"][1]["customer_name"] == "Leonie Köhler"
