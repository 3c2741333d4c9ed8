"""The analysts' query API: `GET /api/tables`, `GET /api/tables/{name}` and `/openapi.json`.

Reads come from the workers' live state (their Faust web views), routed to the owner of each key.
"""

from __future__ import annotations

from api.query.routes import routes

__all__ = ["routes"]
