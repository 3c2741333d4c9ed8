"""20 concurrent 200 MiB uploads are refused without the edge's memory growing: its peak RSS (read
from /proc while they run) stays within 50 MiB of its idle RSS."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.security.test_bad_input import events_request, huge_upload
from tests.support.attacks import rss_kib, serves_a_normal_client
from tests.support.edges import Deltas, EdgeFactory

pytestmark = pytest.mark.integration

UPLOADS = 20
ALLOWED_GROWTH_KIB = 50 * 1024


async def test_concurrent_huge_uploads_leave_the_memory_flat(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges()
    await serves_a_normal_client(edge, deltas)  # warm: every lazy import and first allocation done
    idle = rss_kib(edge.pid)
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(edge.pid))
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    targets = [events_request(b"")[0], "/broadcasting/auth"]
    try:
        with ThreadPoolExecutor(UPLOADS) as pool:
            futures = [
                asyncio.wrap_future(pool.submit(huge_upload, edge, targets[i % 2], chunked=i % 4 >= 2))
                for i in range(UPLOADS)
            ]
            results = await asyncio.gather(*futures)
    finally:
        done.set()
        sampler.join(5)
    assert [status for status, _ in results] == [413] * UPLOADS, results
    growth = peak - idle
    assert growth <= ALLOWED_GROWTH_KIB, f"RSS grew by {growth / 1024:.1f} MiB (idle {idle / 1024:.1f} MiB)"
    await serves_a_normal_client(edge, deltas)
