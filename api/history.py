"""Per-channel delta history: a bounded ring of recent events plus the channel's current state.

Each `Delta` holds the frame already encoded (once) for every subscriber and every replay.
`seq` rises by exactly one per channel; a duplicate (``seq <= last``) is dropped, a gap starts
the ring afresh (a resume across the gap then gets `chinook:resync`).
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from api import protocol


@dataclass(frozen=True, slots=True)
class Delta:
    channel: str
    event: str
    seq: int
    ts_ms: int
    frame: str
    exclude_socket_id: str | None = None


class InvalidDelta(ValueError):
    pass


def delta_from_record(value: bytes | str) -> Delta:
    """Decode one `chinook.deltas` record value and encode its Pusher frame (data carries seq)."""
    try:
        raw = json.loads(value)
    except ValueError as exc:
        raise InvalidDelta(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidDelta("not a JSON object")
    channel, event, seq = raw.get("channel"), raw.get("event"), raw.get("seq")
    if not protocol.valid_channel_name(channel):
        raise InvalidDelta(f"bad channel {channel!r}")
    if not isinstance(event, str) or not event or len(event) > protocol.EVENT_NAME_MAX:
        raise InvalidDelta(f"bad event {event!r}")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidDelta(f"bad seq {seq!r}")
    ts_ms = raw.get("ts_ms", 0)
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool):
        ts_ms = 0
    data = raw.get("data")
    payload: dict[str, Any] = dict(data) if isinstance(data, dict) else {"value": data}
    payload["seq"] = seq
    exclude = raw.get("exclude_socket_id")
    assert isinstance(channel, str)
    return Delta(
        channel=channel,
        event=event,
        seq=seq,
        ts_ms=ts_ms,
        frame=protocol.encode(event, payload, channel),
        exclude_socket_id=exclude if isinstance(exclude, str) else None,
    )


class ChannelHistory:
    """The recent events of one channel (contiguous in seq) and its last event per event name."""

    def __init__(self, capacity: int, max_state_events: int = 256) -> None:
        self._ring: deque[Delta] = deque(maxlen=capacity)
        self._state: OrderedDict[str, Delta] = OrderedDict()
        self._max_state = max_state_events
        self.last_seq: int | None = None

    def __len__(self) -> int:
        return len(self._ring)

    def append(self, delta: Delta) -> bool:
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

    def since(self, last_seq: int) -> list[Delta] | None:
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

    def snapshot(self) -> list[Delta]:
        """The current state: the last event of each event name, oldest first."""
        return sorted(self._state.values(), key=lambda d: d.seq)

    def last(self) -> Delta | None:
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

    def append(self, delta: Delta) -> bool:
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
