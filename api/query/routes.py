"""The query API's endpoints: list the tables, read one, and the OpenAPI document."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.query import access
from api.query.catalogue import TABLES
from api.query.openapi import document
from api.query.params import QueryError, multi, parse_query
from api.query.render import error, render
from api.query.rows import fetch_rows
from api.query.workers import WorkerPool, WorkersUnavailable
from api.state import Edge
from schemas.settings import QuerySettings, get_settings

log = logging.getLogger(__name__)


class QueryApi:
    def __init__(self, config: QuerySettings | None = None) -> None:
        self.config = config or get_settings().query
        self.pool = WorkerPool(self.config)
        self.document = document(self.config)

    async def list_tables(self, request: Request) -> Response:
        refused = await access.refuse(request)
        if refused is not None:
            return refused
        return JSONResponse({"tables": [spec.as_json() for spec in TABLES.values()]})

    async def read_table(self, request: Request) -> Response:
        refused = await access.refuse(request)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        spec = TABLES.get(name)
        if spec is None:
            return error(404, f"unknown table {name[:60]!r}; GET /api/tables lists them")
        edge: Edge = request.app.state.edge
        tz = edge.settings.pulse_timezone
        try:
            query = parse_query(
                spec, multi(request.query_params.multi_items()), request.headers.get("accept", ""), tz, self.config
            )
            rows = await fetch_rows(query, self.pool, tz)
        except QueryError as exc:
            return error(exc.status, exc.message)
        except WorkersUnavailable as exc:
            log.warning("query of %s: %s", name, exc)
            return error(503, str(exc), {"Retry-After": "5"})
        return render(query, rows, request.url, tz)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self.document)


def routes(config: QuerySettings | None = None) -> list[BaseRoute]:
    api = QueryApi(config)
    return [
        Route("/api/tables", api.list_tables, methods=["GET"]),
        Route("/api/tables/{name}", api.read_table, methods=["GET"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
    ]
