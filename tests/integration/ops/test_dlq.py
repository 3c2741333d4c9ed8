"""`chinook-pulse dlq list` and `dlq replay`: dead letters of a bad deploy, replayed once it is fixed,
bring the tables back to SQL's numbers.

The bad deploy is a real misconfiguration: the worker is told the connector sends NUMERIC as
`precise` base64 bytes (`DEBEZIUM_DECIMAL_MODE=precise`) while it sends strings, so every invoice
and invoice-line change fails to parse and goes to the dead-letter topic. The fix is the right
setting; replaying the dead letters then feeds the missed changes through the worker.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ops.simulator import Simulator
from schemas.settings import Settings
from tests.integration.ops.support import cli, wait_caught_up, wait_group_empty
from tests.support.oracle import assert_converges, differences, seq_problems
from tests.support.workers import Isolation, Worker, wait_ready

pytestmark = pytest.mark.integration

BAD_DEPLOY = {"DEBEZIUM_DECIMAL_MODE": "precise"}


def test_dlq_replay_after_a_fix_updates_the_tables(
    engine: Engine, settings: Settings, isolation: Isolation, workers: list[Worker], tmp_path: Path
) -> None:
    cdc = {settings.cdc_topic(t) for t in ("invoice", "invoice_line")}
    workers.append(Worker(isolation, tmp_path, "good").start())
    wait_ready(workers)
    Simulator(engine, seed=81).run(0, count=20)
    assert_converges(engine, settings, workers, isolation)
    workers[0].stop()
    wait_group_empty(isolation)

    deployed = datetime.now(UTC)
    workers.append(Worker(isolation, tmp_path, "bad", env=BAD_DEPLOY).start())
    wait_ready(workers[1:])
    Simulator(engine, seed=82).run(0, count=30)
    wait_caught_up(isolation, cdc)
    workers[1].stop()
    wait_group_empty(isolation)

    listed = cli(isolation, "dlq", "list", "--json", "--since", deployed.isoformat())
    assert listed.returncode == 0, listed.stderr
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert all("expected base64 decimal bytes" in d["reason"] for d in letters), letters[:3]
    # the reference loader dead-letters the tracks it could not read (unit_price) too
    assert {d["source_topic"] for d in letters} <= cdc | {settings.cdc_topic("track")}
    changes = [d for d in letters if d["source_topic"] in cdc]
    assert changes, "the bad deploy dead-lettered no invoice change"

    workers.append(Worker(isolation, tmp_path, "fixed").start())  # the fix: the right setting
    wait_ready(workers[2:])
    wait_caught_up(isolation, cdc)
    missing = differences(engine, settings, workers[2:], [])
    assert missing, "the dead-lettered changes should be missing before the replay"

    for topic in sorted(cdc):  # the invoice changes only: the tracks were never lost (read at every start)
        replayed = cli(isolation, "dlq", "replay", "--since", deployed.isoformat(), "--source", topic)
        assert replayed.returncode == 0, replayed.stderr
        count = sum(1 for d in changes if d["source_topic"] == topic)
        assert f"dlq replay done: {count} record(s) re-produced" in replayed.stdout, replayed.stdout[-500:]
    deltas = assert_converges(engine, settings, workers[2:], isolation)
    assert not seq_problems(deltas), seq_problems(deltas)
