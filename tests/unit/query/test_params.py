from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.query.catalogue import TABLES
from api.query.params import QueryError, negotiate, parse_instant, parse_query
from schemas.settings import QuerySettings

CONFIG = QuerySettings(worker_urls=["http://127.0.0.1:1"])
NOW = datetime(2024, 5, 28, 15, 30, tzinfo=UTC)


def parse(table: str, accept: str = "", tz: str = "UTC", **params: str | list[str]):  # type: ignore[no-untyped-def]
    multi = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    return parse_query(TABLES[table], multi, accept, tz, CONFIG, now=NOW)


def test_defaults_are_the_current_local_day() -> None:
    q = parse("sales")
    assert (q.window, q.start, q.end) == ("hour", datetime(2024, 5, 28, tzinfo=UTC), datetime(2024, 5, 29, tzinfo=UTC))
    q = parse("sales", tz="Europe/Berlin")
    assert q.start == datetime(2024, 5, 27, 22, tzinfo=UTC) and q.end == datetime(2024, 5, 28, 22, tzinfo=UTC)
    assert (q.fmt, q.limit, q.offset, q.top) == ("json", CONFIG.query_default_limit, 0, None)


def test_instants_with_and_without_offsets() -> None:
    assert parse_instant("2024-05-28", "Europe/Berlin", "from") == datetime(2024, 5, 27, 22, tzinfo=UTC)
    assert parse_instant("2024-05-28T10:00:00Z", "Europe/Berlin", "from") == datetime(2024, 5, 28, 10, tzinfo=UTC)
    # a '+' that arrived unescaped in a query string is a space
    assert parse_instant("2024-05-28T10:00:00 02:00", "UTC", "from") == datetime(2024, 5, 28, 8, tzinfo=UTC)
    with pytest.raises(QueryError) as exc:
        parse_instant("last tuesday", "UTC", "from")
    assert exc.value.status == 400 and "ISO 8601" in exc.value.message


@pytest.mark.parametrize(
    ("table", "params", "says"),
    [
        ("sales", {"window": "week"}, "window of sales must be one of"),
        ("sales", {"from": "2024-05-02", "to": "2024-05-01"}, "range is empty"),
        ("sales", {"from": "2000-01-01", "to": "2024-01-01"}, "longer than"),
        ("sales", {"key": "Brazil"}, "has no key"),
        ("sales", {"top": "3"}, "takes no top"),
        ("sales_by_country", {"window": "hour"}, "must be one of day"),
        ("popular_tracks", {"key": "abc"}, "track id"),
        ("popular_tracks", {"top": "0"}, "between 1 and"),
        ("latest_invoices", {"from": "2024-01-01"}, "has no window"),
        ("sales", {"format": "xml"}, "format must be"),
        ("sales", {"limit": "0"}, "limit must be between"),
        ("sales", {"cursor": "nonsense!"}, "cursor"),
        ("sales", {"cursor": "x", "page": "2"}, "either cursor or page"),
        ("sales", {"frm": "2024-01-01"}, "unknown parameter"),
        ("sales", {"window": ["day", "hour"]}, "given 2 times"),
    ],
)
def test_clear_400s(table: str, params: dict[str, str | list[str]], says: str) -> None:
    with pytest.raises(QueryError) as exc:
        parse(table, "", "UTC", **params)
    assert exc.value.status == 400 and says in exc.value.message


def test_cursor_belongs_to_its_query() -> None:
    q = parse("sales", window="minute", limit="5")
    cursor = q.cursor_at(10)
    assert parse("sales", window="minute", limit="5", cursor=cursor).offset == 10
    assert parse("sales", window="minute", limit="7", cursor=cursor).offset == 10  # page size may change
    with pytest.raises(QueryError, match="another query"):
        parse("sales", window="hour", cursor=cursor)
    assert parse("sales", page="3", limit="5").offset == 10


def test_format_by_parameter_or_accept() -> None:
    assert negotiate(None, "") == "json"
    assert negotiate(None, "text/csv") == "csv"
    assert negotiate(None, "application/json;q=0.5, text/csv") == "csv"
    assert negotiate(None, "text/csv;q=0.2, application/json") == "json"
    assert negotiate(None, "image/png") == "json"
    assert negotiate("csv", "application/json") == "csv"
