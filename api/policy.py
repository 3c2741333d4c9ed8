"""Who may subscribe to which private and presence channel (the seed's `routes/channels.php`)."""

from __future__ import annotations

import re
from typing import Any

from api.tokens import User

# Matched whole (fullmatch) and ASCII only: no trailing newline, no other scripts' digits.
_ADMIN = re.compile(r"(?:private|presence)-admin\.[A-Za-z0-9_\-=@,.;]+", re.ASCII)
_USER = re.compile(r"(?:private|presence)-user\.([1-9][0-9]{0,17})", re.ASCII)  # canonical: no leading 0
#: A presence channel every signed-in user may join: who is looking at the dashboards.
_DASHBOARD = re.compile(r"presence-dashboard(?:\.[A-Za-z0-9_\-=@,.;]+)?", re.ASCII)


def plain_form(channel: str) -> str:
    """The channel the policy judges: ``private-encrypted-``, ``private-cache-`` and ``presence-cache-``
    channels are allowed exactly as their plain ``private-`` / ``presence-`` forms."""
    for variant, plain in (
        ("private-encrypted-", "private-"),
        ("private-cache-", "private-"),
        ("presence-cache-", "presence-"),
    ):
        if channel.startswith(variant):
            return plain + channel[len(variant) :]
    return channel


def may_subscribe(user: User, channel: str) -> bool:
    """Default deny: ``*-admin.*`` for admins, ``*-user.{id}`` for that user, ``presence-dashboard*``
    for everybody signed in; public channels need no authorization (so none is given). Encrypted and
    cache variants follow their plain form (`plain_form`)."""
    channel = plain_form(channel)
    if _ADMIN.fullmatch(channel):
        return user.role == "admin"
    match = _USER.fullmatch(channel)
    if match:
        return int(match.group(1)) == user.id
    return bool(_DASHBOARD.fullmatch(channel))


def presence_member(user: User) -> dict[str, Any]:
    """The ``channel_data`` of a presence subscription; only the name is shown to other members."""
    return {"user_id": str(user.id), "user_info": {"name": user.name}}
