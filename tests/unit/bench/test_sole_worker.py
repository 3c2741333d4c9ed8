"""`make bench` measures one worker: a running stack's own worker is stopped meanwhile, then started again."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import common
from schemas.settings import get_settings


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """A run directory and a stand-in `chinook-pulse` that records its arguments."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    calls = tmp_path / "calls"
    cli = tmp_path / "chinook-pulse"
    cli.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    cli.chmod(0o755)
    monkeypatch.setenv("RUN_DIR", str(run_dir))
    get_settings.cache_clear()
    yield run_dir, cli
    get_settings.cache_clear()


def _calls(cli: Path) -> list[str]:
    path = cli.parent / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_without_a_stack_worker_nothing_is_stopped(stack: tuple[Path, Path]) -> None:
    _, cli = stack
    with common.sole_worker(str(cli)) as stopped:
        assert stopped is None
    assert _calls(cli) == []


def test_a_running_stack_worker_is_stopped_then_started_again_even_when_the_bench_fails(
    stack: tuple[Path, Path],
) -> None:
    run_dir, cli = stack
    # a process that looks like the stack's worker to its pid file check ("chinook-pulse worker")
    proc = subprocess.Popen(["bash", "-c", 'exec -a "chinook-pulse worker" sleep 60'])
    try:
        (run_dir / "worker.pid").write_text(str(proc.pid))
        with pytest.raises(RuntimeError, match="bench failed"), common.sole_worker(str(cli)) as stopped:
            assert stopped == proc.pid
            assert _calls(cli) == ["down --only worker"]
            with common.sole_worker(str(cli)) as inner:  # nested: the outer block already stopped it
                assert inner is None
            raise RuntimeError("bench failed")
        assert _calls(cli) == ["down --only worker", "up --only worker"]
    finally:
        proc.kill()
        proc.wait()
