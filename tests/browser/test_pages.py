"""The dashboard's HTTP routes on the edge (`api/pages.py`): no services needed (Starlette's TestClient,
an in-memory token store, the edge not consuming), like the edge's own unit tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.pages import SRC_DIR, VENDOR, page_url
from api.tokens import MemoryTokenStore, User
from api.triggers import MemorySink
from schemas.settings import PROJECT_ROOT, EdgeSettings, Settings

SECRET = "pages-test-secret-never-shown"


@pytest.fixture
def client() -> Iterator[tuple[TestClient, dict[str, str]]]:
    store = MemoryTokenStore()
    tokens = {
        "admin": store.add(User(1, "Ada Admin", "admin@chinook.test", "admin")),
        "viewer": store.add(User(3, "Vic Viewer", "viewer@chinook.test", "viewer")),
    }
    settings = Settings(
        pusher_app_key="page-key",
        pusher_app_secret=SECRET,
        pulse_timezone="Europe/Berlin",
        edge=EdgeSettings(consume=False),
    )
    app = create_app(settings, tokens=store, sink=MemorySink())
    with TestClient(app, base_url="http://127.0.0.1:8123") as test_client:
        yield test_client, tokens


def test_page_is_served_with_a_strict_content_security_policy(client: tuple[TestClient, dict[str, str]]) -> None:
    http, _ = client
    r = http.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert '<label for="token">API token</label>' in r.text
    assert "https://" not in r.text, "the page must not load anything from elsewhere (no CDN)"


def test_config_names_the_key_and_the_pages_own_address_never_the_secret(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    http, _ = client
    r = http.get("/config.json")
    assert r.status_code == 200
    config = r.json()
    assert config["app_key"] == "page-key"
    assert (config["ws_host"], config["ws_port"], config["force_tls"]) == ("127.0.0.1", 8123, False)
    assert config["auth_endpoint"] == "/broadcasting/auth"
    assert config["timezone"] == "Europe/Berlin"
    assert SECRET not in r.text


def test_whoami_tells_who_a_token_belongs_to(client: tuple[TestClient, dict[str, str]]) -> None:
    http, tokens = client
    r = http.get("/whoami", headers={"Authorization": f"Bearer {tokens['viewer']}"})
    assert r.status_code == 200
    assert r.json() == {"id": 3, "name": "Vic Viewer", "email": "viewer@chinook.test", "role": "viewer"}
    assert http.get("/whoami").status_code == 401
    assert http.get("/whoami", headers={"Authorization": "Bearer cp_unknown"}).status_code == 401


def test_assets_and_vendor_files(client: tuple[TestClient, dict[str, str]]) -> None:
    http, _ = client
    for name in ("app.js", "format.js", "chart.js", "style.css"):
        r = http.get(f"/assets/{name}")
        assert r.status_code == 200, name
        assert "content-security-policy" in r.headers
    assert http.get("/assets/app.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert http.get("/assets/../pyproject.toml").status_code == 404
    assert http.get("/assets/vendor/tweetnacl.js").status_code == 404  # only named vendor files
    r = http.get("/assets/vendor/pusher.min.js")
    if VENDOR["pusher.min.js"].is_file():
        assert r.status_code == 200 and "Pusher" in r.text[:2000]
    else:
        assert r.status_code == 503 and "npm ci --prefix web" in r.text


def test_page_url_is_connectable() -> None:
    assert page_url(Settings(pusher_host="0.0.0.0", pusher_port=8000)) == "http://127.0.0.1:8000/"
    assert page_url(Settings(pusher_host="127.0.0.1", pusher_port=9001)) == "http://127.0.0.1:9001/"


def test_money_and_date_formatting_under_node() -> None:
    """web/src/format.js (the page's formatters) under Node's own test runner."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Node 20 runs the page's formatter tests)")
    test = PROJECT_ROOT / "tests" / "browser" / "format.test.mjs"
    result = subprocess.run([node, "--test", str(test)], capture_output=True, text=True, timeout=60, cwd=SRC_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
