"""`docs/deltas/*.schema.json` and `schemas.messages` (`Delta`, `DeltaEvent`, `EVENT_CHANNELS`) agree.

Change one without the other and this fails: an event without a schema (or the reverse), an event
on another channel, a field of `Delta` the schemas do not describe, or a required field it lacks.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from schemas.messages import EVENT_CHANNELS, Delta, DeltaEvent, InvalidDelta

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "deltas"
_OPTIONAL = {f.name for f in dataclasses.fields(Delta) if f.default is not dataclasses.MISSING}
_REQUIRED = [f.name for f in dataclasses.fields(Delta) if f.default is dataclasses.MISSING]
# The JSON type of each field's Python annotation (`data` is checked per event).
_JSON_TYPE = {int: "integer", str | None: "string", tuple[int, int] | None: "array"}


def _schemas() -> dict[str, dict[str, Any]]:
    return {p.name.removesuffix(".schema.json"): json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}


def test_one_schema_per_event_and_one_event_per_schema() -> None:
    assert set(_schemas()) == {e.value for e in DeltaEvent}
    assert set(EVENT_CHANNELS) == set(DeltaEvent)


@pytest.mark.parametrize("event", list(DeltaEvent), ids=str)
def test_schema_describes_the_delta_type(event: DeltaEvent) -> None:
    schema = _schemas()[event.value]
    Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    assert props["event"] == {"const": event.value}
    assert props["channel"] == {"const": EVENT_CHANNELS[event]}
    assert schema["required"] == _REQUIRED
    assert set(props) == set(_REQUIRED) | _OPTIONAL
    assert schema["additionalProperties"] is False
    assert props["data"]["type"] == "object"
    hints = typing.get_type_hints(Delta)
    for name in props.keys() - {"channel", "event", "data"}:
        assert props[name]["type"] == _JSON_TYPE[hints[name]], name
    assert (props["src"]["minItems"], props["src"]["maxItems"], props["src"]["items"]) == (2, 2, {"type": "integer"})


@pytest.mark.parametrize("event", list(DeltaEvent), ids=str)
def test_a_delta_round_trips_and_its_envelope_validates(event: DeltaEvent) -> None:
    delta = Delta(EVENT_CHANNELS[event], event.value, {}, 7, 1, exclude_socket_id="1.2", src=(0, 41))
    assert Delta.decode(delta.encode()) == delta
    envelope = _schemas()[event.value]
    envelope = {**envelope, "properties": {**envelope["properties"], "data": {"type": "object"}}}
    errors = [e.message for e in Draft202012Validator(envelope).iter_errors(delta.to_json())]
    assert errors == []


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"event": "E", "seq": 1}',
        b'{"channel": "", "event": "E", "seq": 1}',
        b'{"channel": "c", "event": 3, "seq": 1}',
        b'{"channel": "c", "event": "E", "seq": -1}',
        b'{"channel": "c", "event": "E", "seq": true}',
        b'{"channel": "c", "event": "E", "seq": "1"}',
    ],
)
def test_decode_refuses_what_is_not_a_delta(raw: bytes) -> None:
    with pytest.raises(InvalidDelta):
        Delta.decode(raw)


def test_decode_reads_loose_optional_fields_as_absent() -> None:
    delta = Delta.decode(b'{"channel":"c","event":"E","seq":3,"ts_ms":"x","src":[1],"exclude_socket_id":5}')
    assert (delta.ts_ms, delta.src, delta.exclude_socket_id, delta.data) == (0, None, None, None)
