"""One retry loop for the edge's long-running Kafka consumers.

Rule: a consumer's failure is logged and retried after a fixed delay, forever; cancellation always
propagates (never swallowed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def retry_forever(
    step: Callable[[], Awaitable[None]],
    *,
    name: str,
    delay: float,
    on_failure: Callable[[], None] | None = None,
) -> None:
    """Run ``step`` until cancelled; after any other exception, log it, call ``on_failure``, wait ``delay``."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if on_failure is not None:
                on_failure()
            log.warning("%s failed (%s: %s); retrying", name, type(exc).__name__, exc)
            await asyncio.sleep(delay)
