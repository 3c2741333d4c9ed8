"""The live dashboard page, served by the edge: `/`, `/config.json`, `/whoami` and `/assets/*`.

The page (``web/src``: plain ES modules, no build step) signs in with a bearer token and reads the
channels through pusher-js, which is served from ``web/node_modules`` (``npm ci --prefix web``), never
from a CDN. ``/config.json`` carries what the page needs to connect and nothing secret.

``python -m api.pages`` prints the page's address and a fresh admin token (for ``make up``).
"""

from __future__ import annotations

import argparse
import sys

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from api.state import Edge
from schemas.settings import PROJECT_ROOT, Settings, get_settings

WEB_DIR = PROJECT_ROOT / "web"
SRC_DIR = WEB_DIR / "src"
# The only files served from node_modules, by name (nothing else there is reachable).
VENDOR = {"pusher.min.js": WEB_DIR / "node_modules" / "pusher-js" / "dist" / "web" / "pusher.min.js"}
NPM_HINT = "run `npm ci --prefix web` (the page's JavaScript libraries come from the npm registry)"
CURRENCY = "USD"  # Chinook's invoices are in US dollars

# The page loads nothing from elsewhere; the websocket goes to the same host and port.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


async def index(request: Request) -> Response:
    page = SRC_DIR / "index.html"
    if not page.is_file():
        return PlainTextResponse(f"the dashboard page is missing ({page})", status_code=404)
    return FileResponse(page, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


def page_config(settings: Settings, request: Request) -> dict[str, object]:
    """What the page needs to connect: the app key (public in Pusher's design), where the websocket
    is (the host and port the page itself was loaded from: the edge serves both), and how to show
    the numbers. Never the secret."""
    https = request.url.scheme in ("https", "wss")
    return {
        "app_key": settings.pusher_app_key,
        "ws_host": request.url.hostname or settings.pusher_host,
        "ws_port": request.url.port or (443 if https else 80),
        "force_tls": https,
        "auth_endpoint": "/broadcasting/auth",
        "whoami_endpoint": "/whoami",
        "timezone": settings.pulse_timezone,
        "currency": CURRENCY,
    }


async def config_json(request: Request) -> JSONResponse:
    edge: Edge = request.app.state.edge
    return JSONResponse(page_config(edge.settings, request), headers={"Cache-Control": "no-store"})


async def whoami(request: Request) -> JSONResponse:
    """The signed-in user of a bearer token (name, email, role), so the page can greet them and say
    "unknown or revoked token" at sign-in rather than on the first subscription."""
    edge: Edge = request.app.state.edge
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    headers = {"Cache-Control": "no-store"}
    if scheme.lower() != "bearer" or not token.strip():
        return JSONResponse({"error": "A bearer token is required"}, 401, {**headers, "WWW-Authenticate": "Bearer"})
    try:
        user = await edge.tokens.user_for_token(token.strip())
    except Exception:
        return JSONResponse({"error": "Authorization is unavailable"}, 503, headers)
    if user is None:
        return JSONResponse({"error": "Unknown or revoked token"}, 401, {**headers, "WWW-Authenticate": "Bearer"})
    return JSONResponse({"id": user.id, "name": user.name, "email": user.email, "role": user.role}, headers=headers)


async def vendor(request: Request) -> Response:
    path = VENDOR.get(request.path_params["name"])
    if path is None:
        return PlainTextResponse("not found", status_code=404)
    if not path.is_file():
        return PlainTextResponse(f"{path.name} is not installed: {NPM_HINT}", status_code=503)
    return FileResponse(path, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


class _Assets(StaticFiles):
    """web/src, with the page's security headers and no long caching (the files change in dev)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, with_headers)


ROUTES: list[BaseRoute] = [
    Route("/", index, methods=["GET", "HEAD"]),
    Route("/config.json", config_json, methods=["GET"]),
    Route("/whoami", whoami, methods=["GET"]),
    Route("/assets/vendor/{name}", vendor, methods=["GET", "HEAD"]),
    Mount("/assets", app=_Assets(directory=SRC_DIR, check_dir=False), name="assets"),
]


# -- `python -m api.pages`: the page's address and a ready admin token (for `make up`) ----------------


def page_url(settings: Settings) -> str:
    host = settings.pusher_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.pusher_port}/"


def sign_in_hint(settings: Settings, email: str, label: str = "make up") -> str:
    """For people: where the dashboard is and a new token to paste there (issued now, last line)."""
    from api.tokens import SqlTokenStore

    store = SqlTokenStore(settings.sqlalchemy_url)
    try:
        token = store.issue(email, label)
    finally:
        store.close()
    return f"Dashboard: {page_url(settings)}\nSign in there with this token for {email} (shown once):\n{token}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m api.pages", description="print the dashboard's address and a token"
    )
    parser.add_argument("--email", default="admin@chinook.test", help="whose token (default: the seeded admin)")
    parser.add_argument("--label", default="make up", help="a note stored with the token")
    args = parser.parse_args(argv)
    if not (SRC_DIR / "index.html").is_file():
        print(f"the dashboard page is missing ({SRC_DIR})", file=sys.stderr)
        return 1
    if not VENDOR["pusher.min.js"].is_file():
        print(f"warning: pusher-js is not installed, the page cannot connect: {NPM_HINT}", file=sys.stderr)
    try:
        print(sign_in_hint(get_settings(), args.email, args.label))
    except LookupError:
        print(f"no user with email {args.email} (run `chinook-pulse db init`?)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
