"""End-to-end encrypted channels (``private-encrypted-*``): the per-channel key clients decrypt with.

The edge never sees a plaintext: publishers encrypt with NaCl secretbox under the channel's shared
secret, the edge relays ``{"nonce", "ciphertext"}`` as it came, and the authorization response of a
subscription carries the shared secret: ``base64(sha256(channel_name + master_key))`` (Pusher's rule),
with the master key from ``PUSHER_ENCRYPTION_MASTER_KEY`` (32 bytes, base64). Without that key the
edge refuses to authorize such channels and to accept triggers to them.
"""

from __future__ import annotations

import base64
import hashlib


def shared_secret(channel: str, master_key: bytes) -> str:
    """The base64 ``shared_secret`` of ``channel`` (what pusher-js opens each event's secretbox with)."""
    return base64.b64encode(hashlib.sha256(channel.encode() + master_key).digest()).decode()
