"""Who may query: a bearer token of a user whose role is admin or analyst (401 without, 403 otherwise)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.query.render import error
from api.state import Edge

log = logging.getLogger(__name__)

ROLES = frozenset({"admin", "analyst"})


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def refuse(request: Request) -> JSONResponse | None:
    """None when the request may read the tables; else the 401, 403 or 503 answer."""
    edge: Edge = request.app.state.edge
    token = bearer(request)
    if token is None:
        return error(401, "a bearer token is required (Authorization: Bearer <token>)", {"WWW-Authenticate": "Bearer"})
    try:
        user = await edge.tokens.user_for_token(token)
    except Exception as exc:
        log.warning("token lookup failed: %s", type(exc).__name__)
        return error(503, "authorization is unavailable; try again", {"Retry-After": "5"})
    if user is None:
        return error(401, "unknown or revoked token", {"WWW-Authenticate": "Bearer"})
    if user.role not in ROLES:
        return error(403, f"role {user.role!r} may not query tables; admin or analyst needed")
    return None
