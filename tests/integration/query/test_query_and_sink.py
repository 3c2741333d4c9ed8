"""After a simulated run against the live stack, the query API and the `analytics` tables equal SQL on the source.

Two real workers (own group, topics and analytics schema) follow the real change topics; the edge
runs in-process and routes every read to the workers over HTTP. Random ranges, windows, keys and
page sizes are compared with `oracle_sql`; the sink's tables are compared whole, then the sink is
run twice more over every day and must change nothing.
"""

from __future__ import annotations

import csv
import io
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from ops.simulator import Simulator
from schemas.settings import Settings
from tables import oracle
from tables.views import iso, money
from tests.integration.query import oracle_sql
from tests.support.oracle import (
    assert_commits_reach_the_end,
    differences,
    partial_trails,
    rebalance_repairs,
    uncommitted,
)
from tests.support.polling import eventually
from tests.support.query import Run, edge_client
from tests.support.workers import Worker, wait_ready

pytestmark = pytest.mark.integration

TABLES = ("sales", "sales_by_country", "sales_by_genre", "popular_tracks")


def read_all(client: TestClient, token: str, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of a query, following next_cursor page by page."""
    rows: list[dict[str, Any]] = []
    params = dict(params)
    for _ in range(10_000):
        r = client.get(f"/api/tables/{name}", params=params, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["rows"]
        if body["next_cursor"] is None:
            assert len(rows) == body["total"]
            return rows
        params["cursor"] = body["next_cursor"]
    raise AssertionError("more than 10000 pages")


def random_queries(engine: Engine, rng: random.Random, n: int) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        dates = [r[0] for r in conn.execute(text("SELECT invoice_date FROM invoice ORDER BY random() LIMIT 200"))]
    out = []
    for _ in range(n):
        name = rng.choice(TABLES)
        anchor = rng.choice(dates).replace(tzinfo=UTC) - timedelta(minutes=rng.randint(0, 3 * 1440))
        span = timedelta(minutes=rng.choice([17, 90, 6 * 60, 2 * 1440, 20 * 1440, 400 * 1440]))
        limit = rng.choice([3, 50]) if span <= timedelta(days=2) else rng.choice([200, 1000])
        params: dict[str, Any] = {"from": iso(anchor), "to": iso(anchor + span), "limit": limit}
        if name == "sales":
            params["window"] = rng.choice(["minute", "hour", "day"])
        elif name == "popular_tracks":
            params["top"] = 1000
        out.append((name, params))
    return out


def query_problems(
    engine: Engine, client: TestClient, token: str, tz: str, queries: list[tuple[str, dict[str, Any]]]
) -> list[str]:
    problems = []
    with engine.connect() as conn:
        for name, params in queries:
            got = read_all(client, token, name, params)
            start = datetime.fromisoformat(params["from"])
            end = datetime.fromisoformat(params["to"])
            want = oracle_sql.table(conn, name, params.get("window", "day"), start, end, tz)
            if "top" in params:
                want = [r for r in want if r["rank"] <= params["top"]]
            if got != want:
                problems.append(f"{name} {params}: {len(got)} rows, SQL {len(want)}: {got[:3]} != {want[:3]}")
    return problems


def keyed_problems(engine: Engine, client: TestClient, token: str, tz: str, rng: random.Random) -> list[str]:
    problems = []
    with engine.connect() as conn:
        start, end = data_range(conn)
        countries = oracle_sql.by_country(conn, start, end, tz)
        tracks = oracle_sql.popular_tracks(conn, start, end, tz)
        genres = oracle_sql.by_genre(conn, start, end, tz)
        full = {"from": iso(start), "to": iso(end)}
        for name, column, key, want_all in (
            ("sales_by_country", "country", rng.choice(countries)["country"], countries),
            ("sales_by_genre", "genre", rng.choice(genres)["genre"], genres),
            ("popular_tracks", "track_id", rng.choice(tracks)["track_id"], tracks),
        ):
            got = read_all(client, token, name, {**full, "key": key})
            want = [r for r in want_all if r[column] == key]
            if got != want:
                problems.append(f"{name} key={key}: {got[:3]} != {want[:3]}")
        top = read_all(client, token, "sales_by_country", {**full, "top": 2})
        per_window: dict[str, int] = {}
        want_top = []
        for row in countries:
            per_window[row["window_start"]] = per_window.get(row["window_start"], 0) + 1
            if per_window[row["window_start"]] <= 2:
                want_top.append(row)
        if top != want_top:
            problems.append(f"sales_by_country top=2: {top[:4]} != {want_top[:4]}")
        latest = read_all(client, token, "latest_invoices", {"top": 25})
        if latest != oracle.latest_invoices(conn, 25):
            problems.append(f"latest_invoices: {latest[:2]} != {oracle.latest_invoices(conn, 25)[:2]}")
        [users] = read_all(client, token, "active_users", {})
        as_of = datetime.fromisoformat(users["as_of"])
        if users["count"] != oracle.active_users(conn, as_of):
            problems.append(f"active_users {users} != SQL {oracle.active_users(conn, as_of)}")
    return problems


# -- the analytics schema ----------------------------------------------------------------------


def stored(conn: Any, schema: str, table: str, columns: str, order: str) -> list[dict[str, Any]]:
    """Rows of an analytics table rendered as the API renders them (money as strings, instants ISO)."""
    result = conn.execute(text(f'SELECT {columns} FROM "{schema}".{table} ORDER BY {order}'))
    return [{k: render(v) for k, v in row._mapping.items()} for row in result]


def render(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money(value)
    return iso(value) if isinstance(value, datetime) else value


def analytics_problems(engine: Engine, schema: str, tz: str) -> list[str]:
    problems = []
    window = "window_start, window_end"
    with engine.connect() as conn:
        start, end = data_range(conn)
        for unit in ("minute", "hour", "day"):
            got = stored(conn, schema, f"sales_{unit}", f"{window}, total, invoice_count", "1")
            if got != oracle_sql.sales(conn, unit, start, end, tz):
                problems.append(f"sales_{unit}: {len(got)} rows differ from SQL")
        checks = (
            ("sales_day_by_country", "country, total, invoice_count", "1, 4 DESC, 3", oracle_sql.by_country),
            ("sales_day_by_genre", "genre, total", "1, 4 DESC, 3", oracle_sql.by_genre),
            (
                "popular_tracks_day",
                "rank, track_id, name, artist, genre, units, revenue",
                "1, 3",
                oracle_sql.popular_tracks,
            ),
        )
        for table, columns, order, want in checks:
            got = stored(conn, schema, table, f"{window}, {columns}", order)
            if got != want(conn, start, end, tz):
                problems.append(f"{table}: {len(got)} rows differ from SQL")
    return problems


def data_range(conn: Any) -> tuple[datetime, datetime]:
    """From a day before the first invoice to two days after the last (UTC)."""
    first, last = conn.execute(text("SELECT min(invoice_date), max(invoice_date) FROM invoice")).one()
    return first.replace(tzinfo=UTC) - timedelta(days=1), last.replace(tzinfo=UTC) + timedelta(days=2)


def pipeline_account(settings: Settings, run: Run, problems: list[str]) -> str:
    """What the topics say about the failing days, and which partitions the group has not committed."""
    short = uncommitted(settings, run.isolation)
    account = partial_trails(settings, run.isolation, problems) + rebalance_repairs(run.workers)
    return account + "\n--- uncommitted\n" + ("\n".join(short[:10]) or "none")


def live_problems(engine: Engine, settings: Settings, workers: list[Worker]) -> list[str]:
    """The harness's comparison of every day and the latest list with SQL, without the deltas topic."""
    delta_checks = ("last ", "no ActiveUsersUpdated")
    return [p for p in differences(engine, settings, workers, []) if not p.startswith(delta_checks)]


def sink_status(workers: list[Worker]) -> list[dict[str, Any]]:
    return [httpx.get(w.url + "/pulse/sink/", timeout=5).json() for w in workers]


def sink_idle(workers: list[Worker]) -> list[str]:
    return [
        f"{w.url}: {s}"
        for w, s in zip(workers, sink_status(workers), strict=True)
        if s["pending_days"] or s["resync_pending"] or s["resyncs_completed"] != s["resyncs_requested"] or s["errors"]
    ]


def closed_rows(engine: Engine, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every closed row of every analytics table, updated_at included: a write that changed one shows."""
    names = (
        "sales_minute",
        "sales_hour",
        "sales_day",
        "sales_day_by_country",
        "sales_day_by_genre",
        "popular_tracks_day",
    )
    with engine.connect() as conn:
        return {
            n: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{schema}".{n} WHERE closed ORDER BY 1, 2, 3'))]
            for n in names
        }


@pytest.mark.timeout(1500)
def test_query_api_and_analytics_equal_sql(
    engine: Engine,
    settings: Settings,
    run: Run,
    tokens: dict[str, str],
    tmp_path: Path,
) -> None:
    workers = run.start(tmp_path, 2)
    wait_ready(workers)
    Simulator(engine, seed=51).run(0, count=200)
    eventually(
        lambda: live_problems(engine, settings, workers),
        "the workers' live tables == SQL",
        600,
        workers,
        explain=lambda problems: pipeline_account(settings, run, problems),
    )
    assert_commits_reach_the_end(settings, workers, run.isolation)
    tz = settings.pulse_timezone
    rng = random.Random(5)
    with edge_client(settings, workers) as client:
        queries = random_queries(engine, rng, 24)
        began = time.monotonic()
        eventually(lambda: query_problems(engine, client, tokens["analyst"], tz, queries), "query API == SQL")
        print(f"24 random queries equal SQL ({time.monotonic() - began:.1f}s)")
        eventually(lambda: keyed_problems(engine, client, tokens["admin"], tz, rng), "keyed queries == SQL")
        # CSV carries the same rows as JSON
        params = {"from": "2020-01-01", "to": "2029-12-31", "window": "day"}  # within QUERY_MAX_DAYS
        as_json = read_all(client, tokens["analyst"], "sales", params)
        r = client.get(
            "/api/tables/sales",
            params=params,
            headers={"Authorization": f"Bearer {tokens['analyst']}", "Accept": "text/csv"},
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        as_csv = list(csv.DictReader(io.StringIO(r.text)))
        assert as_csv == [{k: str(v) for k, v in row.items()} for row in as_json]
        viewer = client.get("/api/tables/sales", headers={"Authorization": f"Bearer {tokens['viewer']}"})
        assert viewer.status_code == 403

    eventually(lambda: sink_idle(workers), "the sink drained every day", workers=workers)
    eventually(lambda: analytics_problems(engine, run.schema, tz), "analytics == SQL")
    before = closed_rows(engine, run.schema)
    counts = [(s["rows_upserted"], s["rows_deleted"]) for s in sink_status(workers)]
    for _ in range(2):  # the sink, twice more over every owned day
        for w in workers:
            assert httpx.post(w.url + "/pulse/sink/", timeout=5).status_code == 200
        eventually(lambda: sink_idle(workers), "the resync finished", timeout_s=60)
    after_rows = closed_rows(engine, run.schema)
    for name, rows in before.items():
        # windows that closed meanwhile (time passes) may be new; every row closed before is untouched
        keys = {row[:3] for row in rows}
        assert [row for row in after_rows[name] if row[:3] in keys] == rows, f"{name}: a closed row was rewritten"
    assert not analytics_problems(engine, run.schema, tz)
    after = [(s["rows_upserted"], s["rows_deleted"]) for s in sink_status(workers)]
    assert sum(d for _, d in after) == sum(d for _, d in counts), "a resync deleted rows"
