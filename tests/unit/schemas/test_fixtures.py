"""Every record in `tests/fixtures/debezium/*.json` parses as its file says (see its README)."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from schemas.debezium import DebeziumParser
from schemas.events import ChangeEvent, ParseFailure, Skipped, Tombstone
from schemas.rows import DecodingOptions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "debezium"
FILES = sorted(FIXTURES.glob("*.json"))
RESULTS = {"change": ChangeEvent, "tombstone": Tombstone, "skipped": Skipped, "failure": ParseFailure}


def raw(doc: dict[str, Any], name: str) -> bytes | None:
    if f"{name}_b64" in doc:
        return base64.b64decode(doc[f"{name}_b64"])
    if f"{name}_text" in doc:
        return str(doc[f"{name}_text"]).encode()
    value = doc.get(name)
    # Compact, key order kept: the byte layout Kafka Connect's JsonConverter writes.
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def check_record(record: Any, expected: dict[str, Any] | None) -> None:
    if expected is None:
        assert record is None
        return
    assert record is not None
    got = {k: plain(v) for k, v in asdict(record).items()}
    assert {k: got.get(k, "<absent>") for k in expected} == expected


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixture(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    parser = DebeziumParser(DecodingOptions(**doc.get("decoding", {})))
    result = parser.parse(raw(doc, "key"), raw(doc, "value"), doc["topic"])
    expect = doc.get("expect")
    if expect is None:
        assert not isinstance(result, ParseFailure), result
        return
    assert isinstance(result, RESULTS[expect["result"]]), result
    for name in ("op", "table", "kind"):
        if name in expect:
            assert str(getattr(result, name)) == str(expect[name])
    if "key" in expect:
        assert dict(getattr(result, "key", ())) == expect["key"]
    if "reason_contains" in expect:
        assert expect["reason_contains"] in getattr(result, "reason", "")
    if isinstance(result, ChangeEvent):
        for side in ("before", "after"):
            if side in expect:
                check_record(getattr(result, side), expect[side])
        source = asdict(result.source)
        assert {k: source[k] for k in expect.get("source", {})} == expect.get("source", {})


def test_there_are_fixtures() -> None:
    assert FILES, f"no fixtures in {FIXTURES}"
