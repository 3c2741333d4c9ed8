"""docker-compose.yml is a valid Compose file: checked against the Compose Specification's schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from schemas.settings import PROJECT_ROOT

SPEC = PROJECT_ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SPEC.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return data


def test_docker_compose_yml_validates(validator: jsonschema.Draft7Validator) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_compose())]
    assert not errors, "\n".join(errors)


def test_the_schema_refuses_what_compose_refuses(validator: jsonschema.Draft7Validator) -> None:
    """The check can fail: a misspelt service key and a bad restart policy are errors."""
    broken = _compose()
    broken["services"]["worker"]["helthcheck"] = broken["services"]["worker"].pop("healthcheck")
    broken["services"]["edge"]["depends_on"] = {"worker": {"condition": "when_ready"}}
    messages = [e.message for e in validator.iter_errors(broken)]
    assert any("helthcheck" in m for m in messages), messages
    assert any("when_ready" in m for m in messages), messages
