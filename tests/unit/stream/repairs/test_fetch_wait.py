"""The worker's consumer reads in rounds of `WORKER_READ_WAIT_MS`, not Faust's 1.5 s or every byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import pytest
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from schemas.settings import get_settings
from stream.repairs import fetch_wait


def _worker_consumer(app: faust.App, create: Any) -> Any:
    thread = app.consumer._thread
    assert isinstance(thread, AIOKafkaConsumerThread)
    return create(thread, app.transport)


async def test_the_worker_consumer_gathers_changes_for_the_read_wait(tmp_path: Path) -> None:
    fetch_wait.install()
    app = faust.App("unit-fetch-wait", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    consumer = _worker_consumer(app, AIOKafkaConsumerThread._create_worker_consumer)
    assert consumer._fetch_max_wait_ms == get_settings().worker_read_wait_ms == 100
    assert consumer._fetch_min_bytes == fetch_wait.FETCH_MIN_BYTES > 1


async def test_the_read_wait_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_READ_WAIT_MS", "25")
    get_settings.cache_clear()
    try:
        fetch_wait.install()
        app = faust.App("unit-fetch-wait-set", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
        consumer = _worker_consumer(app, AIOKafkaConsumerThread._create_worker_consumer)
        assert consumer._fetch_max_wait_ms == 25
    finally:
        get_settings.cache_clear()


async def test_faust_s_own_consumer_waits_a_second_and_a_half_for_one_byte(tmp_path: Path) -> None:
    """What the repair changes (fails once Faust changes these or makes them settings: the repair can go then)."""
    app = faust.App("unit-fetch-wait-orig", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    consumer = _worker_consumer(app, fetch_wait._original_create)
    assert consumer._fetch_max_wait_ms == 1500
    assert consumer._fetch_min_bytes == 1
