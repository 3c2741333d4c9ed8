"""Run the worker: the owner agent, the merger, the reference data and the pages in one Faust worker."""

from __future__ import annotations

import asyncio
import logging

import faust
import uvloop

from schemas.settings import get_settings
from stream import heap
from stream.topics import ensure_topics


class QuietWorker(faust.Worker):
    """A Faust worker whose libraries log at the chosen level (faust leaves the root logger at DEBUG,
    and faust and aiokafka then build a debug record for every message sent)."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        for name in ("", "faust", "aiokafka", "mode", "kafka"):
            logging.getLogger(name).setLevel(level)


def run_worker(web_port: int | None = None, loglevel: str = "INFO") -> int:
    settings = get_settings()
    asyncio.run(ensure_topics(settings))
    uvloop.install()  # Faust's per-event machinery is event-loop bound: uvloop runs it ~25 % faster
    from stream import (  # noqa: F401  (registers agents, tables, timers and pages)
        merger,
        metrics_page,
        owner,
        pages,
        reference,
        sink,
        status,
    )
    from stream.app import app

    heap.tune()
    heap.settle()  # the libraries and modules imported: alive for the worker's lifetime
    if web_port is not None:
        app.conf.web_port = web_port
    worker = QuietWorker(app, loglevel=loglevel)
    worker.execute_from_commandline()
    return 0
