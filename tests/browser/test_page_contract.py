"""The page against the channel contract, in headless Chromium: a real edge on its own topic, fed
with deltas this test writes exactly as the worker's sequencer would (no worker, so no waiting for
one to read the CDC history, and exact expected values). Checks first paint from the snapshot,
formatting for people, live updates, notifications, a reconnect with `last_seq` (replay) and with
a gap (`chinook:resync`), phone width, and the viewer's "not allowed".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import Browser, DriverError, LoneEdge

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SALES, INVOICES, USERS, TRACKS = (
    "private-admin.sales",
    "private-admin.invoices",
    "private-admin.users",
    "private-admin.tracks",
)
NOTIFICATIONS, ALERTS = "private-admin.notifications", "private-admin.alerts"
ADMIN_CARDS = ["card-sales", "card-users", "card-alerts", "card-invoices", "card-tracks", "card-country", "card-genre"]
MADE = time.time()  # the moment the data's day and hour are taken
TODAY = time.strftime("%Y-%m-%d", time.gmtime(MADE))
HOUR = time.gmtime(MADE).tm_hour


def current_hours_since_made() -> set[str | None]:
    """What the page may mark as the current hour: it reads its own clock (UTC), so the hour of
    any moment since the data was made, or none once the data's day is over."""
    now, moment, hours = time.time(), MADE, set()
    while True:
        at = time.gmtime(min(moment, now))
        hours.add(str(at.tm_hour) if time.strftime("%Y-%m-%d", at) == TODAY else None)
        if moment >= now:
            return hours
        moment += 3600


def sales(total: str, count: int, hour_amount: str) -> dict[str, Any]:
    hourly = ["0.00"] * 24
    hourly[HOUR] = hour_amount
    hourly[(HOUR + 23) % 24] = "0.10"
    return {
        "date": TODAY,
        "total": total,
        "invoice_count": count,
        "hourly": hourly,
        "by_country": {"USA": "1000000.00", "Brazil": "234567.79", "Czech Republic": "0.10"},
        "by_genre": {"Rock": "1234000.00", "Jazz": "567.89"},
    }


def invoice(invoice_id: int, total: str, name: str) -> dict[str, Any]:
    return {"id": invoice_id, "total": total, "customer_name": name, "created_at": f"{TODAY}T{HOUR:02d}:01:02Z"}


LATEST = [invoice(i, "1.98", f"Customer {i}") for i in range(110, 100, -1)]
TRACKS_TOP = {
    "date": TODAY,
    "top": [
        {"track_id": 3, "name": "Fast As a Shark", "artist": "Accept", "units": 12, "revenue": "11.88"},
        {
            "track_id": 1,
            "name": "For Those About To Rock (We Salute You)",
            "artist": "AC/DC",
            "units": 3,
            "revenue": "2.97",
        },
    ],
}


def wait(browser: Browser, page: str, expr: str, *, ms: int, what: str, arg: Any = None) -> dict[str, Any]:
    try:
        return browser.call("wait", page=page, expr=expr, arg=arg, timeout_ms=ms, within=ms / 1000 + 30, what=what)
    except DriverError as exc:
        state = exc.state or {}
        summary = {k: state.get(k) for k in ("connection", "sales", "invoices", "feed", "toasts", "cards")}
        raise AssertionError(f"{what}: {exc}\npage: {summary}") from exc


def sign_in(browser: Browser, lone: LoneEdge, page: str, token: str, size: dict[str, int]) -> None:
    browser.call("open", page=page, url=lone.url, **size)
    browser.call("signin", page=page, token=token)
    wait(
        browser,
        page,
        "document.getElementById('connection').dataset.state === 'connected'",
        ms=15_000,
        what="connected",
    )


@pytest.fixture(scope="module")
def fed(lone_edge: LoneEdge) -> LoneEdge:
    """The channels' state before any page opens (what a subscribe must paint at once)."""
    lone_edge.send(
        (SALES, "SalesUpdated", sales("1234567.89", 1234, "1234.50")),
        (SALES, "SaleCompleted", invoice(110, "1.98", "Customer 110")),
        (INVOICES, "LatestInvoicesUpdated", {"latest": LATEST}),
        (USERS, "ActiveUsersUpdated", {"count": 7, "window_seconds": 300, "as_of": f"{TODAY}T{HOUR:02d}:00:00Z"}),
        (TRACKS, "PopularTracksUpdated", TRACKS_TOP),
        (NOTIFICATIONS, "NotificationSent", {"message": "Nightly export done", "type": "info"}),
    )
    return lone_edge


def test_first_paint_is_the_snapshot_formatted_for_people(
    fed: LoneEdge, browser: Browser, tokens: dict[str, str], screenshots: Path
) -> None:
    sign_in(browser, fed, "first", tokens["admin"], DESKTOP)
    wait(
        browser,
        "first",
        "['card-sales', 'card-invoices', 'card-users', 'card-tracks'].every("
        "(id) => document.getElementById(id).dataset.state === 'ready')"
        " && document.querySelectorAll('#alerts-list li').length > 0",  # the notifications channel's snapshot
        ms=10_000,
        what="every widget and the notifications feed painted from the snapshot",
    )
    state = browser.state("first")
    assert state["sales"]["total_text"] == "$1,234,567.89"  # beyond what a float sum keeps exactly
    assert state["sales"]["total"] == "1234567.89"
    assert "1,234 invoices" in state["body_text"]
    assert state["sales"]["hourly"][HOUR] == "1234.50"
    assert state["sales"]["current_hour"] in current_hours_since_made(), state["sales"]["current_hour"]
    assert state["by_country"] == {"USA": "1000000.00", "Brazil": "234567.79", "Czech Republic": "0.10"}
    assert "$234,567.79" in state["body_text"] and "$0.10" in state["body_text"]
    assert [i["id"] for i in state["invoices"]] == list(range(110, 100, -1))
    assert not any(i["is_new"] for i in state["invoices"]), "nothing is new on first paint"
    assert state["invoices"][0]["cells"][2] == "$1.98"
    assert state["users"] == "7"
    assert [t["track_id"] for t in state["tracks"]] == [3, 1]
    assert "Accept" in state["tracks"][0]["text"] and "12 sold" in state["tracks"][0]["text"]
    assert any("Nightly export done" in f["text"] for f in state["feed"]), state["feed"]
    assert state["toasts"] == [], "the channel's current state is listed, not popped up"
    for broken in ("undefined", "NaN", "[object"):
        assert broken not in state["body_text"]
    assert not [x for x in browser.call("log", page="first")["log"] if x.startswith("pageerror")]

    # live: a sale, the new invoice highlighted; an alert toasted (once the page counts arrivals as
    # live rather than as the channel's current state)
    wait(
        browser,
        "first",
        "Date.now() >= Number(document.getElementById('card-alerts').dataset.liveAfter || Infinity)",
        ms=5_000,
        what="alerts live",
    )
    started = time.monotonic()
    fed.send(
        (SALES, "SalesUpdated", sales("1234570.86", 1235, "1237.47")),
        (
            INVOICES,
            "InvoiceCreated",
            {**invoice(111, "2.97", "Zoë Ångström"), "latest": [invoice(111, "2.97", "Zoë Ångström"), *LATEST[:9]]},
        ),
        (ALERTS, "SystemAlert", {"message": "Connect task restarted", "severity": "warning"}),
    )
    wait(
        browser,
        "first",
        """() => document.getElementById('sales-total').textContent === '$1,234,570.86'
            && document.querySelector('#invoices-table tr[data-id="111"].is-new') !== null
            && document.getElementById('toasts').textContent.includes('Connect task restarted')""",
        ms=5_000,
        what="the live update shown",
    )
    print(f"\nKafka -> edge -> page: {(time.monotonic() - started) * 1000:.0f} ms")
    state = browser.state("first")
    assert state["invoices"][0]["cells"][1].startswith("Zoë Ångström")
    assert "New" in state["invoices"][0]["cells"][0]
    assert state["sales"]["hourly"][HOUR] == "1237.47"
    browser.call("screenshot", page="first", path=str(screenshots / "contract-desktop.png"), full_page=True)
    browser.call("close", page="first")


def test_reconnect_replays_from_last_seq_or_resyncs_after_a_gap(
    fed: LoneEdge, browser: Browser, tokens: dict[str, str], screenshots: Path
) -> None:
    sign_in(browser, fed, "resume", tokens["admin"], DESKTOP)
    wait(
        browser, "resume", "document.getElementById('sales-total').dataset.value !== undefined", ms=10_000, what="sales"
    )

    # 1. missed while the edge is down: replayed from last_seq, no resync needed
    def miss_one() -> None:
        wait(
            browser,
            "resume",
            "['reconnecting', 'offline'].includes(document.getElementById('connection').dataset.state)",
            ms=10_000,
            what="the page noticed the edge went away",
        )
        fed.send((SALES, "SalesUpdated", sales("1234600.00", 1240, "1266.61")))

    fed.restart(down_while=miss_one)
    wait(
        browser,
        "resume",
        """() => document.getElementById('connection').dataset.state === 'resynced'
            && document.getElementById('sales-total').dataset.value === '1234600.00'""",
        ms=60_000,
        what="back, with what was missed",
    )
    text = browser.state("resume")["connection"]["text"]
    assert text.startswith("Live · resynced") and "current state reloaded" not in text, text

    # 2. a gap in seq (as after a lost history): the edge cannot replay, says chinook:resync, sends the state
    def jump() -> None:
        wait(
            browser,
            "resume",
            "['reconnecting', 'offline'].includes(document.getElementById('connection').dataset.state)",
            ms=10_000,
            what="the page noticed the edge went away again",
        )
        fed.send((SALES, "SalesUpdated", sales("1300000.00", 1300, "1300.00")), seq=fed.seqs[SALES] + 5)

    fed.restart(down_while=jump)
    wait(
        browser,
        "resume",
        """() => document.getElementById('connection').textContent.includes('current state reloaded')
            && document.getElementById('sales-total').dataset.value === '1300000.00'""",
        ms=60_000,
        what="resynced to the current state after the gap",
    )
    browser.call("screenshot", page="resume", path=str(screenshots / "contract-resynced-desktop.png"))
    browser.call("close", page="resume")


def test_phone_width(fed: LoneEdge, browser: Browser, tokens: dict[str, str], screenshots: Path) -> None:
    browser.call("open", page="phone", url=fed.url, **PHONE)
    browser.call("screenshot", page="phone", path=str(screenshots / "signin-phone.png"))
    browser.call("signin", page="phone", token=tokens["admin"])
    wait(
        browser, "phone", "document.getElementById('card-invoices').dataset.state === 'ready'", ms=15_000, what="ready"
    )
    width = browser.call("eval", page="phone", expr="document.documentElement.scrollWidth")["value"]
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"
    # the invoices' time moves under the customer's name; every total is still shown
    hidden = browser.call(
        "eval", page="phone", expr="getComputedStyle(document.querySelector('#invoices-table .col-time')).display"
    )["value"]
    assert hidden == "none"
    browser.call("screenshot", page="phone", path=str(screenshots / "contract-phone.png"), full_page=True)
    browser.call("close", page="phone")


def test_viewer_gets_not_allowed_and_bad_tokens_are_refused(
    fed: LoneEdge, browser: Browser, tokens: dict[str, str], screenshots: Path
) -> None:
    browser.call("open", page="viewer", url=fed.url, **DESKTOP)
    # keyboard: the token field has the focus at once, Tab goes on to the button
    wait(browser, "viewer", "document.activeElement.id === 'token'", ms=5_000, what="the token field focused")
    assert browser.call("keys", page="viewer", keys=["Tab"])["focused"]["text"] == "Sign in"
    browser.call("keys", page="viewer", keys=["Shift+Tab"])
    browser.call("signin", page="viewer", token="cp_not-a-real-token")
    wait(
        browser,
        "viewer",
        "document.getElementById('signin-error').textContent.includes('unknown or has been revoked')",
        ms=5_000,
        what="an unknown token refused at sign-in",
    )
    browser.call("signin", page="viewer", token=tokens["viewer"])
    expr = f"{ADMIN_CARDS!r}.every((id) => document.getElementById(id).dataset.state === 'denied')"
    wait(browser, "viewer", expr, ms=15_000, what="every admin widget says not allowed")
    state = browser.state("viewer")
    assert state["who"].endswith("· viewer"), state["who"]
    for card in ADMIN_CARDS:
        assert state["cards"][card]["notice"].startswith("Not allowed"), state["cards"][card]
    banner = browser.call("eval", page="viewer", expr="document.getElementById('access-banner').textContent")["value"]
    assert "(viewer), who is not allowed" in banner, banner
    assert state["sales"]["total"] is None and state["invoices"] == [], "a viewer is shown no store data"
    for broken in ("undefined", "NaN", "null", "[object"):
        assert broken not in state["body_text"], f"{broken!r} on the viewer's page"
    assert state["connection"]["state"] == "connected", state["connection"]
    assert not [x for x in browser.call("log", page="viewer")["log"] if x.startswith("pageerror")]
    browser.call("screenshot", page="viewer", path=str(screenshots / "viewer-desktop.png"))
    # and signing out forgets the token (sessionStorage) and shows the form again
    browser.call("eval", page="viewer", expr="document.getElementById('sign-out').click()")
    wait(
        browser,
        "viewer",
        "!document.getElementById('signin').hidden && sessionStorage.getItem('chinook-pulse.token') === null",
        ms=5_000,
        what="signed out",
    )
    browser.call("close", page="viewer")
