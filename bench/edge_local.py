"""The real edge without Kafka, for `python -m bench fanout --source local`: deltas come from a pump.

    python -m bench.edge_local --port P --rate M --seconds S [--control FILE]

The same app (`api.app.create_app`, settings from the environment as `chinook-pulse edge` reads
them) under the same uvicorn options (`api.server.websocket_options`), with `EDGE_CONSUME` off,
tokens in memory and triggers kept in memory. On SIGUSR1 it applies M deltas/s for S seconds through
`Edge.apply` (history + fan-out, what the Kafka consumer does per record), each decoded from the
record the Kafka bench would produce (`bench.common.fanout_record`, "t" = the wall time it was due).
With `--control FILE`, each SIGUSR1 reads "RATE SECONDS" from FILE instead (the ceiling search
steps the rate up on the same subscribers).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import uvicorn

from api.app import create_app
from api.history import delta_from_record
from api.server import websocket_options
from api.tokens import MemoryTokenStore
from api.triggers import MemorySink
from bench.common import fanout_record, pump_plan, scheduled
from schemas.settings import get_settings


def main(port: int, rate: float, seconds: float, control: str | None = None) -> None:
    settings = get_settings()
    settings = settings.model_copy(update={"edge": settings.edge.model_copy(update={"consume": False})})
    config = settings.edge
    app = create_app(settings, tokens=MemoryTokenStore(), sink=MemorySink())
    edge = app.state.edge
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
            server_header=False,
            **websocket_options(config),
        )
    )
    tasks: set[asyncio.Task[None]] = set()

    sent = 0  # seq keeps rising across pumps (a repeated seq would be dropped as a duplicate)

    async def pump(m: float, s: float) -> None:
        nonlocal sent
        first = sent
        async for i, due in scheduled(m, s):
            sent = first + i + 1
            edge.apply(delta_from_record(fanout_record(first + i, due)))

    def start_pump() -> None:
        task = asyncio.get_running_loop().create_task(pump(*pump_plan(control, rate, seconds)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def serve() -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, start_pump)
        print("ready", flush=True)
        await server.serve()

    # The event loop uvicorn.run would use (uvloop when installed), as `chinook-pulse edge` runs.
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(serve())


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True, help="deltas per second once SIGUSR1 arrives")
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--control", help='a file holding "RATE SECONDS", read at each SIGUSR1')
    a = ap.parse_args()
    main(a.port, a.rate, a.seconds, a.control)
