"""What the edge does with bad input and failed authentication, whatever the endpoint.

Bad input is answered with a 4xx (never a 500) and logged at most once per client address per
``EDGE_BAD_INPUT_LOG_INTERVAL``, one line, no traceback. Failed authentications spend a token of
the client address's bucket (``EDGE_AUTH_FAILURE_RATE``/``_BURST``); an address without tokens is
answered 429 before any work is done for it.
"""

from __future__ import annotations

import logging

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from api.bodies import BadInput
from api.state import Edge

log = logging.getLogger(__name__)


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client is not None else "unknown"


def note_bad_input(edge: Edge, client: str, what: str) -> None:
    """Count bad input and log it, at most once per client per interval."""
    edge.metrics.inc("edge_bad_input_total")
    if edge.bad_input_log(client):
        log.warning("bad input from %s: %s", client, what[:200])


def blocked(edge: Edge, conn: HTTPConnection) -> bool:
    """True while the client has failed to authenticate too often."""
    return edge.auth_failures.exhausted(client_address(conn))


def too_many_failures() -> JSONResponse:
    return JSONResponse(
        {"error": "Too many failed authentications from this address; retry later"},
        status_code=429,
        headers={"Retry-After": "5"},
    )


def auth_failed(edge: Edge, conn: HTTPConnection) -> None:
    """Record a failed authentication of the client."""
    edge.metrics.inc("edge_auth_failures_total")
    edge.auth_failures.spend(client_address(conn))


async def bad_input_handler(request: Request, exc: Exception) -> Response:
    """The last net under every HTTP endpoint: input that broke a parser is a 400, not a 500."""
    edge: Edge = request.app.state.edge
    if isinstance(exc, BadInput):
        status, message = exc.status, exc.message
    else:
        status, message = 400, f"Bad request ({type(exc).__name__})"
    note_bad_input(edge, client_address(request), f"{request.method} {request.url.path}: {message}")
    return JSONResponse({"error": message}, status_code=status)


#: Exceptions that only bad input raises in the edge's parsers (answered 400 by `bad_input_handler`).
BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (BadInput, RecursionError, UnicodeError, OverflowError)
