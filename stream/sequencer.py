"""Number deltas per channel, exactly once across restarts, and send them to `chinook.deltas`.

Only the merger sequences (one worker at a time). When it starts it reads `chinook.deltas` back
to learn each channel's last `seq`, the last input each channel published (`src`), and what each
(channel, event) last carried; inputs up to there are never published again, so a crash between
publishing and committing neither repeats nor skips a seq.

`src` is `(partition, offset)` of a trigger read from `chinook.deltas.in`, or `(-1, n)` for the
merger's own events: `n` = partials offset * `EVENT_SLOTS` + the event's index in the record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.kafka_meta import partitions_of
from schemas.messages import Delta
from stream.app import settings
from stream.metrics import delta_published
from stream.output import Record, partition_of, send_all

log = logging.getLogger(__name__)

PARTIALS_SRC = -1
EVENT_SLOTS = 10_000


@dataclass
class Sequencer:
    seqs: dict[str, int] = field(default_factory=dict)
    event_src: dict[str, int] = field(default_factory=dict)  # channel -> last merger event src
    trigger_offsets: dict[int, int] = field(default_factory=dict)  # deltas.in partition -> last offset
    last_data: dict[tuple[str, str], Any] = field(default_factory=dict)
    sent: int = 0
    read_to: dict[int, int] = field(default_factory=dict)  # deltas partition -> offset read back to
    _out: list[Record] = field(default_factory=list)  # numbered, not yet handed to the producer
    _flushing: asyncio.Lock = field(default_factory=asyncio.Lock)

    def absorb(self, delta: Delta) -> None:
        newest = delta.seq >= self.seqs.get(delta.channel, 0)
        self.seqs[delta.channel] = max(self.seqs.get(delta.channel, 0), delta.seq)
        self.last_data[(delta.channel, delta.event)] = delta.data
        if delta.src is not None:
            source, n = delta.src
            if source == PARTIALS_SRC:
                if newest:  # the newest, not the largest: a rebuilt partials topic starts at 0 again
                    self.event_src[delta.channel] = n
            else:
                self.trigger_offsets[source] = max(self.trigger_offsets.get(source, -1), n)

    def published(self, channel: str, src: int) -> bool:
        """Whether the merger event `src` of `channel` was published before."""
        return src <= self.event_src.get(channel, -1)

    def publish(
        self,
        channel: str,
        event: str,
        data: Any,
        src: tuple[int, int] | None = None,
        socket_id: str | None = None,
        ts_ms: int | None = None,
    ) -> None:
        seq = self.seqs.get(channel, 0) + 1
        delta = Delta(
            channel=channel,
            event=event,
            data=data,
            seq=seq,
            ts_ms=ts_ms or int(time.time() * 1000),
            exclude_socket_id=socket_id,
            src=src,
        )
        self.absorb(delta)
        self.sent += 1
        self._out.append((channel.encode(), delta.encode()))
        delta_published(channel)

    async def flush(self) -> None:
        """Hand the deltas numbered so far to the producer, one batch per partition, in `seq` order."""
        async with self._flushing:  # two flushes never interleave one partition's batches
            out, self._out = self._out, []
            if not out:
                return
            by_partition: dict[int, list[Record]] = defaultdict(list)
            for key, value in out:
                by_partition[await partition_of(settings.deltas_topic, key or b"")].append((key, value))
            await send_all(settings.deltas_topic, by_partition)


async def read_published(timeout_s: float = 60.0, since: Sequencer | None = None) -> Sequencer:
    """Read every partition of `chinook.deltas` to its end: what has been published. With `since`
    (a read-back that published nothing), continue it from where it stopped."""
    state = since or Sequencer()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.deltas_topic, p) for p in await partitions_of(consumer, settings.deltas_topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        for tp in tps:
            if tp.partition in state.read_to:
                consumer.seek(tp, state.read_to[tp.partition])
        ends = await consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        records = 0
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {settings.deltas_topic} took longer than {timeout_s} s")
            for tp, batch in (await consumer.getmany(timeout_ms=1000, max_records=20_000)).items():
                for record in batch:
                    if record.value is None:
                        continue
                    try:
                        state.absorb(Delta.decode(record.value))
                    except (ValueError, KeyError, TypeError):
                        log.warning("skipping unreadable record %s@%d", tp, record.offset)
                    records += 1
        state.read_to = {tp.partition: ends[tp] for tp in tps}
    finally:
        await consumer.stop()
    log.info("sequencer: %d deltas read back, %d channels", records, len(state.seqs))
    return state
