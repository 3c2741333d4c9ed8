"""Stage 3c: active users — users whose latest `last_activity` lies within the last 5 minutes.

User rows are stored with their change position (stale events ignored). The count changes as
time passes with no event at all, so a timer recomputes it and publishes `ActiveUsersUpdated`
whenever it differs from the last published count.
"""

from __future__ import annotations

from datetime import UTC, datetime

from faust.types import StreamT

from schemas import jsonio
from stream.app import app, settings, user_changes
from stream.ownership import on_rebalance, owns, state_ready
from stream.publish import USERS, publish
from stream.routing import USERS_KEY
from tables import views
from tables.active_users import ActiveUsers
from tables.invoice_state import parse_instant

user_activity = app.Table("user-activity", key_type=bytes, value_type=bytes)


class UsersCache:
    def __init__(self) -> None:
        self.users = ActiveUsers()
        self.valid = False
        self.last_count: int | None = None

    def invalidate(self) -> None:
        self.valid = False
        self.last_count = None

    def ensure(self) -> ActiveUsers:
        if not self.valid:
            self.users = ActiveUsers()
            for key, raw in user_activity.items():
                last = jsonio.loads(raw)["last"]
                self.users.put(int(key), None if last is None else parse_instant(last))
            self.valid = True
        return self.users


cache = UsersCache()
on_rebalance(cache.invalidate)


@app.agent(user_changes)
async def own_users(stream: StreamT[bytes]) -> None:
    async for value in stream:
        msg = jsonio.loads(value)
        key = str(msg["id"]).encode()
        stored = user_activity.get(key)
        if stored is not None and tuple(jsonio.loads(stored)["pos"]) >= tuple(msg["pos"]):
            continue
        last = None if msg["deleted"] else msg["last"]
        user_activity[key] = jsonio.dumps({"pos": msg["pos"], "last": last})
        if cache.valid:
            cache.users.put(int(msg["id"]), None if last is None else parse_instant(last))


@app.timer(interval=settings.publish_interval)
async def publish_active_users() -> None:
    if not state_ready() or not owns(user_changes, USERS_KEY):
        return
    users = cache.ensure()
    now = datetime.now(UTC)
    data = views.active_users_updated(users, now)
    if data["count"] != cache.last_count:
        if await publish(USERS, "ActiveUsersUpdated", data):
            cache.last_count = data["count"]
