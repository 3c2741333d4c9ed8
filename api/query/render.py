"""A page of rows as JSON or CSV: money as strings with two decimals, instants as ISO 8601 UTC."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.datastructures import URL
from starlette.responses import JSONResponse, Response

from api.query.params import Query
from tables.views import iso, money

CSV_TYPE = "text/csv; charset=utf-8"


def cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return iso(value)
    return value


Rows = list[dict[str, Any]]


def _page(query: Query, rows: Rows, url: URL) -> tuple[Rows, dict[str, str], str | None]:
    page = rows[query.offset : query.offset + query.limit]
    headers = {"X-Total-Count": str(len(rows))}
    next_cursor = None
    if query.offset + query.limit < len(rows):
        next_cursor = query.cursor_at(query.offset + query.limit)
        following = url.remove_query_params(["cursor", "page"]).include_query_params(cursor=next_cursor)
        headers["X-Next-Cursor"] = next_cursor
        headers["Link"] = f'<{following}>; rel="next"'
    columns = query.spec.columns
    return [{c: cell(r.get(c)) for c in columns} for r in page], headers, next_cursor


def render(query: Query, rows: list[dict[str, Any]], url: URL, tz: str) -> Response:
    page, headers, next_cursor = _page(query, rows, url)
    if query.fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(query.spec.columns), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(page)
        return Response(out.getvalue(), media_type=CSV_TYPE, headers=headers)
    body = {
        "table": query.spec.name,
        "window": query.window,
        "from": query.start and iso(query.start),
        "to": query.end and iso(query.end),
        "timezone": tz if query.spec.windows else None,
        "key": query.key,
        "top": query.top,
        "total": len(rows),
        "offset": query.offset,
        "limit": query.limit,
        "next_cursor": next_cursor,
        "rows": page,
    }
    return JSONResponse(body, headers=headers)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)
