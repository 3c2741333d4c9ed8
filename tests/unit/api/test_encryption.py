"""Encrypted channels: the shared secret in the auth answer, triggers relayed as they came, refusals."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pusher
import pytest
from nacl.secret import SecretBox
from pydantic import ValidationError

from api.encryption import shared_secret
from schemas.settings import Settings
from tests.support.edge_harness import APP_ID, KEY, SECRET, Harness, handshake, make_harness, recv, subscribe
from tests.unit.api.test_http import StarletteBackend, auth

MASTER = base64.b64encode(bytes(range(32))).decode()
CHANNEL = "private-encrypted-admin.sales"


@pytest.fixture
def encrypted() -> Iterator[Harness]:
    yield from make_harness({"pusher_encryption_master_key": MASTER})


def test_shared_secret_is_pushers() -> None:
    from pusher.crypto import generate_shared_secret

    expected = base64.b64encode(generate_shared_secret(CHANNEL.encode(), bytes(range(32)))).decode()
    assert shared_secret(CHANNEL, bytes(range(32))) == expected


def test_auth_carries_the_shared_secret_under_the_plain_policy(encrypted: Harness) -> None:
    answer = auth(encrypted, "admin", CHANNEL)
    assert answer.status_code == 200
    assert answer.json()["shared_secret"] == shared_secret(CHANNEL, bytes(range(32)))
    assert auth(encrypted, "viewer", CHANNEL).status_code == 403  # as private-admin.sales
    assert "shared_secret" not in auth(encrypted, "admin", "private-admin.sales").json()


def test_without_a_master_key_nothing_encrypted_is_accepted(harness: Harness) -> None:
    assert auth(harness, "admin", CHANNEL).status_code == 403
    sdk = pusher.Pusher(
        app_id=APP_ID,
        key=KEY,
        secret=SECRET,
        backend=StarletteBackend,
        test_client=harness.client,
        encryption_master_key_base64=MASTER,
    )
    with pytest.raises(pusher.errors.PusherBadRequest):
        sdk.trigger(CHANNEL, "E", {"x": 1})
    assert harness.sink.sent == []


def test_sdk_trigger_is_relayed_untouched(encrypted: Harness) -> None:
    sdk = pusher.Pusher(
        app_id=APP_ID,
        key=KEY,
        secret=SECRET,
        backend=StarletteBackend,
        test_client=encrypted.client,
        encryption_master_key_base64=MASTER,
    )
    sdk.trigger(CHANNEL, "Sales", {"total": "10.00"})
    (trigger,) = encrypted.sink.sent
    assert set(trigger.data) == {"nonce", "ciphertext"}
    box = SecretBox(base64.b64decode(shared_secret(CHANNEL, bytes(range(32)))))
    plain = box.decrypt(base64.b64decode(trigger.data["ciphertext"]), base64.b64decode(trigger.data["nonce"]))
    assert json.loads(plain) == {"total": "10.00"}


def test_subscribe_and_no_client_events(encrypted: Harness) -> None:
    with encrypted.connect() as ws:
        socket_id = handshake(ws)
        assert subscribe(ws, socket_id, CHANNEL)["event"] == "pusher_internal:subscription_succeeded"
        ws.send_text(json.dumps({"event": "client-x", "channel": CHANNEL, "data": {}}))
        assert recv(ws)["event"] == "pusher:error"


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_master_key_must_be_32_bytes_of_base64(bad: str) -> None:
    with pytest.raises(ValidationError):
        Settings(pusher_encryption_master_key=bad)
