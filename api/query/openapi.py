"""The OpenAPI 3.0 document of the query API (`GET /openapi.json`), written by hand from the catalogue."""

from __future__ import annotations

from typing import Any

from api.query.catalogue import MAX_TOP, TABLES
from schemas.settings import QuerySettings

MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "Decimal, two places, as a string."}
INSTANT = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC (`Z`)."}
NULLABLE_STRING = {"type": "string", "nullable": True}


def _row(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}


WINDOW = {"window_start": INSTANT, "window_end": INSTANT}
ROWS: dict[str, dict[str, Any]] = {
    "SalesRow": _row({**WINDOW, "total": MONEY, "invoice_count": {"type": "integer", "minimum": 1}}),
    "CountryRow": _row(
        {**WINDOW, "country": {"type": "string"}, "total": MONEY, "invoice_count": {"type": "integer", "minimum": 1}}
    ),
    "GenreRow": _row({**WINDOW, "genre": {"type": "string"}, "total": MONEY}),
    "TrackRow": _row(
        {
            **WINDOW,
            "rank": {"type": "integer", "minimum": 1},
            "track_id": {"type": "integer"},
            "name": {"type": "string"},
            "artist": {"type": "string"},
            "genre": {"type": "string"},
            "units": {"type": "integer", "minimum": 1},
            "revenue": MONEY,
        }
    ),
    "InvoiceRow": _row(
        {"id": {"type": "integer"}, "total": MONEY, "customer_name": {"type": "string"}, "created_at": INSTANT}
    ),
    "ActiveUsersRow": _row(
        {"count": {"type": "integer", "minimum": 0}, "window_seconds": {"type": "integer"}, "as_of": INSTANT}
    ),
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        out["headers"] = headers
    return out


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


AUTH_ERRORS = {
    "401": _error("No bearer token, or an unknown or revoked one.", {"WWW-Authenticate": _header("`Bearer`")}),
    "403": _error("The token's user is neither admin nor analyst."),
}
UNAVAILABLE = _error(
    "The token store or the workers did not answer in time (state being restored, rebalance, worker down).",
    {"Retry-After": _header("Seconds to wait before trying again.")},
)
PAGE_HEADERS = {
    "X-Total-Count": _header("Rows of the whole query, over all pages."),
    "X-Next-Cursor": _header("The cursor of the next page (absent on the last page)."),
    "Link": _header('`<url>; rel="next"`: the next page (absent on the last page).'),
}


def _param(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def _parameters(config: QuerySettings) -> list[dict[str, Any]]:
    return [
        _param("name", "path", {"type": "string", "enum": list(TABLES)}, "The table (see GET /api/tables).", True),
        _param(
            "window",
            "query",
            {"type": "string", "enum": ["minute", "hour", "day"]},
            "Window size; tables list theirs (sales: minute, hour, day; the others: day). Not for tables without one.",
        ),
        _param(
            "from",
            "query",
            {"type": "string"},
            "ISO 8601 date or date-time; windows starting at or after it. Without an offset: the report time zone."
            " Default: the start of the current day (or of the day before `to`).",
        ),
        _param(
            "to",
            "query",
            {"type": "string"},
            "ISO 8601 date or date-time, exclusive: windows starting before it. Default: the day after `from`.",
        ),
        _param("key", "query", {"type": "string"}, "A country (sales_by_country), genre or track id (popular_tracks)."),
        _param(
            "top",
            "query",
            {"type": "integer", "minimum": 1, "maximum": MAX_TOP},
            "Best N per window (countries, genres, tracks) or the N newest invoices.",
        ),
        _param("format", "query", {"type": "string", "enum": ["json", "csv"]}, "Overrides the Accept header."),
        _param(
            "limit",
            "query",
            {"type": "integer", "minimum": 1, "maximum": config.query_max_limit},
            f"Rows per page (default {config.query_default_limit}).",
        ),
        _param("cursor", "query", {"type": "string"}, "`next_cursor` of the previous page of the same query."),
        _param("page", "query", {"type": "integer", "minimum": 1}, "Page number (1-based), instead of a cursor."),
    ]


def document(config: QuerySettings) -> dict[str, Any]:
    """The document, stating `config`'s bounds of `limit`."""
    page = {
        "type": "object",
        "required": ["table", "rows", "total", "offset", "limit", "next_cursor"],
        "properties": {
            "table": {"type": "string"},
            "window": NULLABLE_STRING,
            "from": {**INSTANT, "nullable": True},
            "to": {**INSTANT, "nullable": True},
            "timezone": NULLABLE_STRING,
            "key": NULLABLE_STRING,
            "top": {"type": "integer", "nullable": True},
            "total": {"type": "integer", "minimum": 0},
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1},
            "next_cursor": NULLABLE_STRING,
            "rows": {"type": "array", "items": {"anyOf": [{"$ref": f"#/components/schemas/{n}"} for n in ROWS]}},
        },
    }
    table_info = {
        "type": "object",
        "required": ["name", "windows", "key", "top", "columns"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "windows": {"type": "array", "items": {"type": "string", "enum": ["minute", "hour", "day"]}},
            "default_window": NULLABLE_STRING,
            "key": NULLABLE_STRING,
            "top": NULLABLE_STRING,
            "default_top": {"type": "integer", "nullable": True},
            "columns": {"type": "array", "items": {"type": "string"}},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Chinook Pulse query API",
            "version": "1",
            "description": "Windowed sales tables read from the stream workers' live state. Money is a decimal"
            " string with two places; instants are ISO 8601 UTC. See docs/analytics.md.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/tables": {
                "get": {
                    "operationId": "listTables",
                    "summary": "The tables, their windows, keys and columns.",
                    "responses": {
                        "200": {
                            "description": "The catalogue.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["tables"],
                                        "properties": {
                                            "tables": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/TableInfo"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        **AUTH_ERRORS,
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/api/tables/{name}": {
                "get": {
                    "operationId": "readTable",
                    "summary": "One page of a table's rows.",
                    "parameters": _parameters(config),
                    "responses": {
                        "200": {
                            "description": "A page of rows: JSON by default, CSV (a header line, then rows) on"
                            " `format=csv` or `Accept: text/csv`.",
                            "headers": PAGE_HEADERS,
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Page"}},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _error("A parameter is wrong: window, range, key, top, format, limit, cursor, page."),
                        **AUTH_ERRORS,
                        "404": _error("No such table."),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.0", "content": {"application/json": {}}}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "status"],
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                },
                "TableInfo": table_info,
                "Page": page,
                **ROWS,
            },
        },
    }
