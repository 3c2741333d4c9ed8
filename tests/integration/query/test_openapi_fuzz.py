"""A property-based run against `/openapi.json` (schemathesis): no 5xx and no undocumented response.

The edge app runs in-process (its lifespan too) and answers from one real worker that follows the
real change topics. Requests carry an analyst's bearer token, a viewer's (403) or none (401).
Schemathesis generates valid and invalid parameters for every documented operation and checks each
answer's status, content type, headers and body against the document.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import checks
from sqlalchemy import Engine
from starlette.applications import Starlette

from schemas.settings import Settings
from tests.support.query import edge_app
from tests.support.workers import Isolation, Worker, wait_ready

pytestmark = pytest.mark.integration

#: No 5xx, and every answer as documented: its status, content type, headers and body. Not
#: schemathesis' "schema-valid data is accepted": parameters also have rules JSON Schema does not
#: express (a real calendar date, `from` before `to`, at most QUERY_MAX_DAYS), and breaking them
#: gets the documented 400.
DOCUMENTED = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def worker(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    w = Worker(Isolation(), tmp_path_factory.mktemp("fuzz"), "w1").start()
    try:
        wait_ready([w])
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="module")
def query_app(settings: Settings, worker: Worker) -> Starlette:
    return edge_app(settings, [worker])


@pytest.fixture(scope="module")
def api_schema(query_app: Starlette) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", query_app)


def fuzz(operation: Any, mode: schemathesis.GenerationMode, headers: dict[str, str]) -> None:
    """Generated requests of one operation, each answer checked against the document."""

    @given(case=operation.as_strategy(mode))
    @hypothesis_settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=DOCUMENTED)

    answers_as_documented()


def test_every_answer_is_documented_and_none_is_a_server_error(
    api_schema: schemathesis.BaseSchema, tokens: dict[str, str]
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/tables", "/api/tables/{name}"}
    analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    for operation, mode, headers in itertools.product(
        operations, list(schemathesis.GenerationMode), (analyst, viewer, {})
    ):
        fuzz(operation, mode, headers)
