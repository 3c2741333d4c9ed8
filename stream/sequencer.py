"""Stage 4: number deltas per channel, exactly once, and publish them to `chinook.deltas`.

Every channel's deltas pass through one partition of `chinook.deltas.in` (keyed by channel), so
the owner of that partition owns the channel's `seq`. The output goes to the same partition of
`chinook.deltas`, and each delta records the input offset it came from (`src`). When a worker
takes a partition over it reads that partition of `chinook.deltas` (compacted: the last record per
channel plus recent history) to learn each channel's last seq and the last input offset already
published; inputs at or before that offset are skipped. So a crash between publishing and
committing never repeats or skips a seq.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP, StreamT

from schemas.messages import Delta, Unsequenced
from stream.app import app, deltas, deltas_in, settings
from stream.dead_letters import dead_letter

log = logging.getLogger(__name__)


@dataclass
class PartitionSeq:
    last_src_offset: int = -1
    seqs: dict[str, int] = field(default_factory=dict)


_state: dict[int, PartitionSeq] = {}


@app.on_partitions_revoked.connect
async def _on_revoked(app_: Any, revoked: set[TP], **kwargs: Any) -> None:
    for tp in revoked:
        if tp.topic == settings.deltas_topic + ".in":
            _state.pop(tp.partition, None)


async def read_published(partition: int, timeout_s: float = 60.0) -> PartitionSeq:
    """Scan one partition of `chinook.deltas` for the last seq per channel and the last src offset."""
    state = PartitionSeq()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(settings.deltas_topic, partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=int(timeout_s * 1000), max_records=10000)
            if not batch:
                raise TimeoutError(f"reading {tp} took longer than {timeout_s} s")
            for record in batch[tp]:
                try:
                    delta = Delta.decode(record.value)
                except (ValueError, KeyError, TypeError):
                    log.warning("skipping unreadable record %s@%d in %s", tp, record.offset, settings.deltas_topic)
                    continue
                state.seqs[delta.channel] = max(state.seqs.get(delta.channel, 0), delta.seq)
                if delta.src is not None and delta.src[0] == partition:
                    state.last_src_offset = max(state.last_src_offset, delta.src[1])
    finally:
        await consumer.stop()
    log.info(
        "sequencer partition %d: %d channels, last input offset %d", partition, len(state.seqs), state.last_src_offset
    )
    return state


@app.agent(deltas_in)
async def sequence(stream: StreamT[bytes]) -> None:
    async for event in stream.events():
        message = event.message
        state = _state.get(message.partition)
        if state is None:
            state = _state[message.partition] = await read_published(message.partition)
        if message.offset <= state.last_src_offset:
            continue  # published before a crash or a rebalance: never twice
        try:
            item = Unsequenced.decode(message.value)
        except (ValueError, KeyError, TypeError) as exc:
            await dead_letter(event, f"not an unsequenced delta: {exc}")
            continue
        seq = state.seqs.get(item.channel, 0) + 1
        delta = Delta(
            channel=item.channel,
            event=item.event,
            data=item.data,
            seq=seq,
            ts_ms=item.ts_ms,
            exclude_socket_id=item.socket_id,
            src=(message.partition, message.offset),
        )
        await deltas.send(key=item.channel.encode(), value=delta.encode(), partition=message.partition)
        state.seqs[item.channel] = seq
        state.last_src_offset = message.offset
