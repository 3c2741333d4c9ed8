"""The worker's consumer long-polls for `FETCH_MAX_WAIT_MS`, not Faust's 1.5 s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from stream.repairs import fetch_wait


def _worker_consumer(app: faust.App, create: Any) -> Any:
    thread = app.consumer._thread
    assert isinstance(thread, AIOKafkaConsumerThread)
    return create(thread, app.transport)


async def test_the_worker_consumer_waits_briefly_for_records(tmp_path: Path) -> None:
    fetch_wait.install()
    app = faust.App("unit-fetch-wait", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    consumer = _worker_consumer(app, AIOKafkaConsumerThread._create_worker_consumer)
    assert consumer._fetch_max_wait_ms == fetch_wait.FETCH_MAX_WAIT_MS <= 100


async def test_faust_s_own_consumer_waits_a_second_and_a_half(tmp_path: Path) -> None:
    """What the repair changes (fails once Faust makes the wait shorter or a setting: the repair can go then)."""
    app = faust.App("unit-fetch-wait-orig", broker="kafka://127.0.0.1:1", store="memory://", datadir=str(tmp_path))
    consumer = _worker_consumer(app, fetch_wait._original_create)
    assert consumer._fetch_max_wait_ms == 1500
