"""`chinook-pulse up` generates the secrets into `.env` before it starts anything, and says where."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from ops.commands import stack
from ops.stack.secrets import SECRETS, ensure_secrets
from schemas.settings import PROJECT_ROOT, PUBLISHED_SECRET


def test_up_generates_then_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    assert stack.ENV_FILE == PROJECT_ROOT / ".env"
    env_file = tmp_path / ".env"
    seen: list[bool] = []
    monkeypatch.setattr(stack, "ENV_FILE", env_file)
    monkeypatch.setattr(stack.runner, "up", lambda *a, **k: seen.append(env_file.exists()) or [])
    args = argparse.Namespace(only="postgres", no_traffic=True, started_file=None)
    assert stack.run_up(args) == 0
    assert seen == [True]  # the secrets were there before the components started
    out = capsys.readouterr().out
    assert str(env_file) in out and "PUSHER_APP_SECRET" in out


def test_published_or_empty_values_are_replaced_others_kept(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"PUSHER_APP_SECRET={PUBLISHED_SECRET}\nEDGE_METRICS_TOKEN=\nKAFKA_BOOTSTRAP=k:1\n")
    made = ensure_secrets(env_file)
    assert set(made.generated) == set(SECRETS)
    text = env_file.read_text()
    assert PUBLISHED_SECRET not in text and "KAFKA_BOOTSTRAP=k:1" in text
    assert ensure_secrets(env_file).generated == () and env_file.read_text() == text
