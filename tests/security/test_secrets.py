"""No published secret at run time: the edge refuses it, `chinook-pulse secrets`/`up` generate one."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from schemas.settings import PROJECT_ROOT, PUBLISHED_SECRET
from tests.support.attacks import private_auth, serves_a_normal_client
from tests.support.edges import Deltas, EdgeFactory, cli, raw_client
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


def example_secret() -> str:
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines():
        if line.startswith("PUSHER_APP_SECRET="):
            return line.partition("=")[2]
    raise AssertionError(".env.example has no PUSHER_APP_SECRET")


async def test_edge_refuses_the_env_example_secret(edges: EdgeFactory, deltas: Deltas) -> None:
    assert example_secret() == PUBLISHED_SECRET
    env = {k: v for k, v in os.environ.items() if k != "PUSHER_ALLOW_DEV_SECRET"}
    env["PUSHER_APP_SECRET"] = example_secret()
    result = await asyncio.to_thread(
        subprocess.run,
        [*cli(), "edge", "--host", "127.0.0.1", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "PUSHER_APP_SECRET" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    edge = await edges()  # a generated secret: it starts and serves
    await serves_a_normal_client(edge, deltas)


async def test_development_flag_lets_it_run(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges(PUSHER_APP_SECRET=example_secret(), PUSHER_ALLOW_DEV_SECRET="true")
    async with raw_client(edge) as client:
        channel = "private-admin.sales"
        answer = await client.subscribe(channel, auth=private_auth(client.socket_id, channel, secret=PUBLISHED_SECRET))
        assert answer["event"] == "pusher_internal:subscription_succeeded", answer


async def test_a_signature_made_with_the_published_secret_is_refused(edges: EdgeFactory, deltas: Deltas) -> None:
    edge = await edges()
    async with raw_client(edge) as client:
        channel = "private-admin.sales"
        answer = await client.subscribe(channel, auth=private_auth(client.socket_id, channel, secret=PUBLISHED_SECRET))
        assert answer["event"] == "pusher:error" and answer["data"]["code"] == 4009, answer
    await serves_a_normal_client(edge, deltas)


def test_secrets_are_generated_once_into_a_git_ignored_env(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PUSHER_APP_SECRET=dev-only-secret-change-me\nSIMULATOR_RATE=5\n")
    first = subprocess.run(
        [*cli(), "secrets", "--env-file", str(env_file)], capture_output=True, text=True, timeout=60, check=True
    )
    assert str(env_file) in first.stdout and "generated PUSHER_APP_SECRET" in first.stdout, first.stdout
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#")
    assert values["PUSHER_APP_SECRET"] not in ("", PUBLISHED_SECRET) and len(values["PUSHER_APP_SECRET"]) >= 32
    assert values["EDGE_METRICS_TOKEN"] and values["SIMULATOR_RATE"] == "5"
    assert env_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    again = subprocess.run(
        [*cli(), "secrets", "--env-file", str(env_file)], capture_output=True, text=True, timeout=60, check=True
    )
    assert str(env_file) in again.stdout and "generated P" not in again.stdout
    kept = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#")
    assert kept == values  # kept across runs
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=PROJECT_ROOT, timeout=10)
    assert ignored.returncode == 0, "the project's .env must be git-ignored"
