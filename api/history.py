"""Per-channel delta history: a bounded ring of recent events plus the channel's current state.

Each `EncodedDelta` holds the Pusher frame encoded once for every subscriber and every replay.
`seq` rises by exactly one per channel; a duplicate (``seq <= last``) is dropped, a gap starts
the ring afresh (a resume across the gap then gets `chinook:resync`).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from api import protocol
from api.frames import Frame
from schemas.messages import Delta, InvalidDelta

__all__ = ["ChannelHistory", "EncodedDelta", "HistoryStore", "InvalidDelta", "delta_from_record"]


@dataclass(frozen=True, slots=True)
class EncodedDelta:
    """A `Delta` and its Pusher frame (whose data carries `seq`); ``out``: the same, ready to send."""

    delta: Delta
    frame: str
    out: Frame = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Frame(self.frame))

    @property
    def channel(self) -> str:
        return self.delta.channel

    @property
    def event(self) -> str:
        return self.delta.event

    @property
    def seq(self) -> int:
        return self.delta.seq

    @property
    def exclude_socket_id(self) -> str | None:
        return self.delta.exclude_socket_id


def delta_from_record(value: bytes | str) -> EncodedDelta:
    """Decode one `chinook.deltas` record value (`Delta.decode`), check Pusher's names, encode its frame."""
    delta = Delta.decode(value)
    if not protocol.valid_channel_name(delta.channel):
        raise InvalidDelta(f"bad channel {delta.channel!r:.80}")
    if len(delta.event) > protocol.EVENT_NAME_MAX:
        raise InvalidDelta(f"bad event {delta.event!r:.80}")
    payload: dict[str, Any] = dict(delta.data) if isinstance(delta.data, dict) else {"value": delta.data}
    payload["seq"] = delta.seq
    return EncodedDelta(delta, protocol.encode(delta.event, payload, delta.channel))


class ChannelHistory:
    """The recent events of one channel (contiguous in seq) and its last event per event name."""

    def __init__(self, capacity: int, max_state_events: int = 256) -> None:
        self._ring: deque[EncodedDelta] = deque(maxlen=capacity)
        self._state: OrderedDict[str, EncodedDelta] = OrderedDict()
        self._max_state = max_state_events
        self.last_seq: int | None = None

    def __len__(self) -> int:
        return len(self._ring)

    def append(self, delta: EncodedDelta) -> bool:
        """Record ``delta``; False for a duplicate or older seq (not to be delivered again)."""
        if self.last_seq is not None:
            if delta.seq <= self.last_seq:
                return False
            if delta.seq != self.last_seq + 1:
                self._ring.clear()  # a gap: what came before can no longer be replayed contiguously
        self._ring.append(delta)
        self._state.pop(delta.event, None)
        self._state[delta.event] = delta
        while len(self._state) > self._max_state:
            self._state.popitem(last=False)
        self.last_seq = delta.seq
        return True

    def since(self, last_seq: int) -> list[EncodedDelta] | None:
        """The events after ``last_seq`` in order, or None when the ring no longer reaches back."""
        if self.last_seq is None:
            return None if last_seq > 0 else []
        if last_seq == self.last_seq:
            return []
        if last_seq > self.last_seq or not self._ring:
            return None
        first = self._ring[0].seq
        if last_seq + 1 < first:
            return None
        return list(islice(self._ring, last_seq + 1 - first, None))

    def snapshot(self) -> list[EncodedDelta]:
        """The current state: the last event of each event name, oldest first."""
        return sorted(self._state.values(), key=lambda d: d.seq)

    def last(self) -> EncodedDelta | None:
        return self._ring[-1] if self._ring else None

    def oldest_seq(self) -> int | None:
        return self._ring[0].seq if self._ring else None


class HistoryStore:
    """`ChannelHistory` per channel, at most ``max_channels`` of them (least recently written dropped)."""

    def __init__(self, capacity: int, max_channels: int) -> None:
        self._capacity = capacity
        self._max_channels = max_channels
        self._channels: OrderedDict[str, ChannelHistory] = OrderedDict()

    def get(self, channel: str) -> ChannelHistory | None:
        return self._channels.get(channel)

    def append(self, delta: EncodedDelta) -> bool:
        history = self._channels.get(delta.channel)
        if history is None:
            history = self._channels[delta.channel] = ChannelHistory(self._capacity)
            while len(self._channels) > self._max_channels:
                self._channels.popitem(last=False)
        else:
            self._channels.move_to_end(delta.channel)
        return history.append(delta)

    def __iter__(self) -> Iterator[str]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)
