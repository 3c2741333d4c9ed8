"""The smallest broadcast server on the `websockets` library: the fan-out baseline.

    python -m bench.ws_baseline --port P --topic T [--bootstrap 127.0.0.1:9092]

Every websocket connection joins one set; every record of the deltas topic `T` (all partitions,
no group, from its end) is turned into the same Pusher frame the edge sends (`event`, `channel`,
`data` as a JSON string) and handed to `websockets.broadcast`. No protocol, no auth, no history,
no per-connection queue: what the edge is measured against.
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
                    d = orjson.loads(r.value)
                    data = dict(d["data"])
                    data["seq"] = d["seq"]
                    frame = json.dumps({"event": d["event"], "channel": d["channel"], "data": json.dumps(data)})
                    broadcast(CLIENTS, frame)
    finally:
        await consumer.stop()


async def main(port: int, topic: str, bootstrap: str) -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, max_queue=16, ping_interval=None):
        task = asyncio.create_task(consume(bootstrap, topic))
        print("ready", flush=True)
        await stop
        task.cancel()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    a = ap.parse_args()
    asyncio.run(main(a.port, a.topic, a.bootstrap))
