"""Number deltas per channel, exactly once across restarts, and send them to `chinook.deltas`.

Only the merger sequences (one worker at a time). When it starts it reads `chinook.deltas` back
to learn each channel's last `seq`, the last input each channel published (`src`), and what each
(channel, event) last carried; inputs up to there are never published again, so a crash between
publishing and committing neither repeats nor skips a seq.

`src` is `(partition, offset)` of a trigger read from `chinook.deltas.in`, or `(-1, n)` for the
merger's own events: `n` = partials offset * `EVENT_SLOTS` + the event's index in the record.

Reading `chinook.deltas` back takes as long as the topic is (an hour of deltas stays uncompacted).
So about once a second (`CHECKPOINT_INTERVAL_S`) the sequencer writes its state to
`{WORKER_ID}.checkpoints` with the offsets it covers: the state after every delta below them,
written only once those deltas are in Kafka. A new merger reads the last checkpoint and the
deltas after it; a checkpoint that does not fit the topic (offsets past its end) is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import jsonio
from schemas.kafka_meta import partitions_of
from schemas.messages import Delta
from stream.app import settings
from stream.metrics import delta_published
from stream.output import Record, Sent, partition_of, send_all, send_batch
from stream.topics import CHECKPOINTS, internal_topic_name

log = logging.getLogger(__name__)

PARTIALS_SRC = -1
EVENT_SLOTS = 10_000

#: How often the state is written to the checkpoints topic while deltas are published.
CHECKPOINT_INTERVAL_S = 1.0


@dataclass
class Sequencer:
    seqs: dict[str, int] = field(default_factory=dict)
    event_src: dict[str, int] = field(default_factory=dict)  # channel -> last merger event src
    trigger_offsets: dict[int, int] = field(default_factory=dict)  # deltas.in partition -> last offset
    last_data: dict[tuple[str, str], Any] = field(default_factory=dict)
    sent: int = 0
    read_to: dict[int, int] = field(default_factory=dict)  # deltas partition -> every delta below is absorbed
    _out: list[Record] = field(default_factory=list)  # numbered, not yet handed to the producer
    _flushing: asyncio.Lock = field(default_factory=asyncio.Lock)
    _unconfirmed: list[Sent] = field(default_factory=list)  # sent since the last checkpoint
    _checkpoint_due: float = 0.0

    def checkpoint(self) -> dict[str, Any]:
        """The state as a JSON document (`read_to` as it stands: the caller sets what it covers)."""
        return {
            "topic": settings.deltas_topic,
            "seqs": dict(self.seqs),
            "event_src": dict(self.event_src),
            "trigger_offsets": {str(p): o for p, o in self.trigger_offsets.items()},
            "last_data": [[c, e, d] for (c, e), d in self.last_data.items()],
            "read_to": {str(p): o for p, o in self.read_to.items()},
        }

    @classmethod
    def from_checkpoint(cls, doc: dict[str, Any]) -> Sequencer:
        return cls(
            seqs={str(c): int(n) for c, n in doc["seqs"].items()},
            event_src={str(c): int(n) for c, n in doc["event_src"].items()},
            trigger_offsets={int(p): int(o) for p, o in doc["trigger_offsets"].items()},
            last_data={(str(c), str(e)): d for c, e, d in doc["last_data"]},
            read_to={int(p): int(o) for p, o in doc["read_to"].items()},
        )

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
        """Hand the deltas numbered so far to the producer, one batch per partition, in `seq` order;
        write a checkpoint when one is due."""
        async with self._flushing:  # two flushes never interleave one partition's batches
            out, self._out = self._out, []
            due = (out or self._unconfirmed) and time.monotonic() >= self._checkpoint_due
            state = self.checkpoint() if due else None  # exactly what is numbered so far
            if out:
                by_partition: dict[int, list[Record]] = defaultdict(list)
                for key, value in out:
                    by_partition[await partition_of(settings.deltas_topic, key or b"")].append((key, value))
                self._unconfirmed += await send_all(settings.deltas_topic, by_partition)
            if state is not None:
                await self._write_checkpoint(state)

    async def _write_checkpoint(self, state: dict[str, Any]) -> None:
        """Wait until every delta sent is in Kafka, then send `state` with the offsets it covers."""
        sent, self._unconfirmed = self._unconfirmed, []
        for s in sent:
            last = await s.last_offset()
            if last is not None:
                self.read_to[s.partition] = max(self.read_to.get(s.partition, 0), last + 1)
        state["read_to"] = {str(p): o for p, o in self.read_to.items()}
        await send_batch(checkpoints_topic(), 0, [(b"sequencer", jsonio.dumps(state))])
        self._checkpoint_due = time.monotonic() + CHECKPOINT_INTERVAL_S


def checkpoints_topic() -> str:
    return internal_topic_name(settings, CHECKPOINTS)


async def read_checkpoint(timeout_s: float = 30.0) -> Sequencer | None:
    """The last checkpoint written for `DELTAS_TOPIC` (None when there is none)."""
    tp = TopicPartition(checkpoints_topic(), 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if end == 0:
            return None
        consumer.seek(tp, end - 1)
        last = None
        async with asyncio.timeout(timeout_s):
            while await consumer.position(tp) < end:
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    last = record.value if record.value is not None else last
    finally:
        await consumer.stop()
    if last is None:
        return None
    try:
        doc = jsonio.loads(last)
        if doc.get("topic") != settings.deltas_topic:
            return None
        return Sequencer.from_checkpoint(doc)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("sequencer: unreadable checkpoint ignored (%r)", exc)
        return None


async def read_resume_point() -> Sequencer:
    """What has been published: the last checkpoint and the deltas after it (all of them without one)."""
    return await read_published(since=await read_checkpoint())


async def read_published(timeout_s: float = 60.0, since: Sequencer | None = None) -> Sequencer:
    """Read every partition of `chinook.deltas` to its end: what has been published. With `since`
    (a checkpoint, or a read-back that published nothing), continue it from where it stopped."""
    state = since or Sequencer()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(settings.deltas_topic, p) for p in await partitions_of(consumer, settings.deltas_topic)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        if since is not None and any(since.read_to.get(tp.partition, 0) > ends[tp] for tp in tps):
            log.warning("sequencer: the checkpoint is past the end of %s; reading it all", settings.deltas_topic)
            state = Sequencer()
        # explicit seeks: aiokafka's seek_to_beginning after an await could end at the end offset
        firsts = await consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(firsts[tp], state.read_to.get(tp.partition, 0)))
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
