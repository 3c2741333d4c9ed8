"""The smallest broadcast server on the `websockets` library: the fan-out baseline.

    python -m bench.ws_baseline --port P --topic T [--bootstrap 127.0.0.1:9092]
    python -m bench.ws_baseline --port P --rate M --seconds S [--control FILE]  # no Kafka: pumps on SIGUSR1

Every websocket connection joins one set; every record of the deltas topic `T` (all partitions,
no group, from its end) is turned into the same Pusher frame the edge sends (`event`, `channel`,
`data` as a JSON string) and handed to `websockets.broadcast`. No protocol, no auth, no history,
no per-connection queue: what the edge is measured against. Without `--topic`, SIGUSR1 starts M
records/s for S seconds made here (`bench.common.fanout_record`), as `bench.edge_local` does (with
`--control FILE`: "RATE SECONDS" read from FILE at each SIGUSR1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from websockets import broadcast
from websockets.asyncio.server import ServerConnection, serve

from bench.common import fanout_record, pump_plan, scheduled

CLIENTS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    CLIENTS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        CLIENTS.discard(ws)


async def consume(bootstrap: str, topic: str) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = None
        while not parts:
            await consumer._client.force_metadata_update()
            consumer._client.add_topic(topic)
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                await asyncio.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for r in records:
                    broadcast(CLIENTS, frame_of(r.value))
    finally:
        await consumer.stop()


def frame_of(value: bytes) -> str:
    d = orjson.loads(value)
    data = dict(d["data"])
    data["seq"] = d["seq"]
    return json.dumps({"event": d["event"], "channel": d["channel"], "data": json.dumps(data)})


SENT = [0]  # records made so far: seq keeps rising across pumps


async def pump(rate: float, seconds: float) -> None:
    first = SENT[0]
    async for i, due in scheduled(rate, seconds):
        SENT[0] = first + i + 1
        broadcast(CLIENTS, frame_of(fanout_record(first + i, due)))


async def main(
    port: int, topic: str | None, bootstrap: str, rate: float, seconds: float, control: str | None = None
) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    tasks: set[asyncio.Task[None]] = set()
    async with serve(handler, "127.0.0.1", port, max_queue=16, ping_interval=None):
        if topic is not None:
            tasks.add(asyncio.create_task(consume(bootstrap, topic)))
        else:

            def start_pump() -> None:
                tasks.add(loop.create_task(pump(*pump_plan(control, rate, seconds))))

            loop.add_signal_handler(signal.SIGUSR1, start_pump)
        print("ready", flush=True)
        await stop
        for task in tasks:
            task.cancel()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--topic", help="the deltas topic; none: records made here on SIGUSR1")
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--rate", type=float, default=20.0, help="records/s without --topic")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--control", help='a file holding "RATE SECONDS", read at each SIGUSR1 (no --topic)')
    a = ap.parse_args()
    asyncio.run(main(a.port, a.topic, a.bootstrap, a.rate, a.seconds, a.control))
