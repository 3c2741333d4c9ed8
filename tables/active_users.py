"""Users whose latest `last_activity` lies within the last five minutes (the seed's definition)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=5)


@dataclass(slots=True)
class ActiveUsers:
    last_activity: dict[int, datetime] = field(default_factory=dict)

    def put(self, user_id: int, last_activity: datetime | None) -> None:
        if last_activity is None:
            self.last_activity.pop(user_id, None)
        else:
            self.last_activity[user_id] = last_activity

    def count(self, now: datetime) -> int:
        """Users with last_activity >= now - 5 min, as the seed counts them (future times count too)."""
        since = now - WINDOW
        return sum(1 for seen in self.last_activity.values() if seen >= since)
