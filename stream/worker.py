"""Run the worker: every agent, table and timer of the pipeline in one Faust worker process."""

from __future__ import annotations

import asyncio
import logging

import faust

from schemas.settings import get_settings
from stream.topics import ensure_topics


class QuietWorker(faust.Worker):
    """A Faust worker whose libraries log at the chosen level: left at DEBUG, faust and aiokafka
    built a debug record for every message sent (3.7 % of the worker's CPU in the profile) that
    the handler then dropped."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        for name in ("", "faust", "aiokafka", "mode", "kafka"):
            logging.getLogger(name).setLevel(level)


def run_worker(web_port: int | None = None, loglevel: str = "INFO") -> int:
    settings = get_settings()
    asyncio.run(ensure_topics(settings))
    from stream import (  # noqa: F401  (registers agents, tables, timers and pages)
        catch_up,
        days,
        faults,
        invoices,
        latest,
        pages,
        reference,
        retention,
        routing,
        sequencer,
        stall_guard,
        status,
        users,
    )
    from stream.app import app

    if web_port is not None:
        app.conf.web_port = web_port
    worker = QuietWorker(app, loglevel=loglevel)
    worker.execute_from_commandline()
    return 0
