"""The edge's channels: which connections are subscribed, presence members, and fan-out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from api import protocol
from api.connection import Connection, Membership
from api.frames import Frame


@dataclass(eq=False)
class Member:
    user_id: Any
    user_info: Any
    sockets: set[str] = field(default_factory=set)


@dataclass(eq=False)
class Channel:
    name: str
    subscribers: dict[str, Connection] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)  # presence: by str(user_id)

    @property
    def presence(self) -> bool:
        return protocol.is_presence(self.name)

    def presence_data(self) -> dict[str, Any]:
        ids = [m.user_id for m in self.members.values()]
        return {
            "presence": {
                "ids": ids,
                "hash": {str(m.user_id): m.user_info for m in self.members.values()},
                "count": len(ids),
            }
        }


class ChannelRegistry:
    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}
        #: Told when a channel gets its first subscriber / loses its last one here (``("channel", name)``)
        #: and a presence member its first / last socket (``("member", name, user_id)``): webhooks.
        self.listener: Callable[[tuple[str, ...], bool], None] | None = None

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    def __iter__(self) -> Iterator[Channel]:
        return iter(list(self._channels.values()))

    def __len__(self) -> int:
        return len(self._channels)

    def subscribe(self, conn: Connection, name: str, membership: Membership | None = None) -> Channel:
        """Add ``conn`` to ``name``; for presence, add the member and tell the others (once per user)."""
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = Channel(name)
            if self.listener is not None:
                self.listener(("channel", name), True)
        channel.subscribers[conn.socket_id] = conn
        conn.subscriptions[name] = membership
        if membership is not None:
            key = str(membership.user_id)
            member = channel.members.get(key)
            if member is None:
                member = channel.members[key] = Member(membership.user_id, membership.user_info)
                frame = protocol.encode(
                    "pusher_internal:member_added",
                    {"user_id": membership.user_id, "user_info": membership.user_info},
                    name,
                )
                self.publish(name, frame, exclude=conn.socket_id)
                if self.listener is not None:
                    self.listener(("member", name, key), True)
            member.sockets.add(conn.socket_id)
        return channel

    def unsubscribe(self, conn: Connection, name: str) -> None:
        membership = conn.subscriptions.pop(name, None)
        channel = self._channels.get(name)
        if channel is None:
            return
        channel.subscribers.pop(conn.socket_id, None)
        if membership is not None:
            key = str(membership.user_id)
            member = channel.members.get(key)
            if member is not None:
                member.sockets.discard(conn.socket_id)
                if not member.sockets:
                    del channel.members[key]
                    frame = protocol.encode("pusher_internal:member_removed", {"user_id": member.user_id}, name)
                    self.publish(name, frame)
                    if self.listener is not None:
                        self.listener(("member", name, key), False)
        if not channel.subscribers:
            del self._channels[name]
            if self.listener is not None:
                self.listener(("channel", name), False)

    def unsubscribe_all(self, conn: Connection) -> None:
        for name in list(conn.subscriptions):
            self.unsubscribe(conn, name)

    def publish(self, name: str, frame: str | Frame, exclude: str | None = None) -> int:
        """Queue the same ``frame`` (encoded once, text and websocket bytes) on every subscriber of ``name``.

        The number queued.
        """
        channel = self._channels.get(name)
        if channel is None:
            return 0
        if not isinstance(frame, Frame):
            frame = Frame(frame)
        sent = 0
        for conn in list(channel.subscribers.values()):
            if conn.socket_id != exclude and conn.send(frame):
                sent += 1
        return sent

    def subscription_counts(self) -> dict[str, int]:
        return {c.name: len(c.subscribers) for c in self._channels.values()}
