"""The table manager starts its channels and recovery without Faust's one-second pause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.tables.manager import TableManager

from stream.repairs import table_start


async def test_the_table_manager_starts_without_sleeping(tmp_path: Path) -> None:
    table_start.install()
    probe = faust.App("unit-table-start", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    manager = probe.tables
    assert isinstance(manager, TableManager)
    steps: list[Any] = []

    async def sleep(seconds: float) -> None:
        steps.append(("sleep", seconds))

    async def update_channels() -> None:
        steps.append("channels")

    class Recovery:
        async def start(self) -> None:
            steps.append("recovery")

    manager.sleep = sleep  # type: ignore[method-assign]
    manager._update_channels = update_channels  # type: ignore[method-assign]
    manager._recovery = Recovery()  # type: ignore[assignment]
    await manager.on_start()
    assert steps == ["channels", "recovery"]  # Faust's own on_start sleeps 1.0 s first


async def test_faust_s_own_start_sleeps_first(tmp_path: Path) -> None:
    """What the repair removes (fails once Faust drops the pause: the repair can go then)."""
    probe = faust.App("unit-table-start-orig", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    manager = probe.tables
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        manager._stopped.set()  # stop right after the pause: nothing else runs

    manager.sleep = sleep  # type: ignore[method-assign]
    await table_start._original_on_start(manager)
    assert slept == [1.0]
