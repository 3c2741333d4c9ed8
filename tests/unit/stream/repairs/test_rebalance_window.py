"""A rebalance under way is never ended by the recovery of the assignment it revoked."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import ConsumerRebalanceListener

from stream.repairs import rebalance_window

rebalance_window.install()


class Group:
    """The consumer thread the rebalance listener talks to: the app's generation, the coordinator's."""

    def __init__(self, generation: int) -> None:
        self.app = SimpleNamespace(consumer_generation_id=generation, on_rebalance_start=self.started)
        self.coordinator_generation = generation
        self.rebalances_started = 0
        self.assigned: list[int] = []

    def started(self) -> None:
        self.rebalances_started += 1

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any, generation: int) -> None:
        self.assigned.append(generation)

    def _ensure_consumer(self) -> Any:
        return SimpleNamespace(_coordinator=SimpleNamespace(generation=self.coordinator_generation))


class FinishingRecovery:
    """What `Recovery.on_recovery_completed` touches before it resumes anything."""

    def __init__(self) -> None:
        self.ended = 0

    def _set_recovery_ended(self) -> None:
        self.ended += 1


@pytest.fixture
def resumed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Generations whose completed recovery went on to Faust's own code (which resumes the streams)."""
    calls: list[int] = []

    async def faust_completion(self: Any, generation_id: int = 0) -> None:
        calls.append(generation_id)

    monkeypatch.setattr(rebalance_window, "_original_on_recovery_completed", faust_completion)
    monkeypatch.setattr(rebalance_window, "_revoked_generation", None)
    return calls


def revoke(group: Group) -> None:
    asyncio.run(ConsumerRebalanceListener(group).on_partitions_revoked(set()))


def assign(group: Group, generation: int) -> None:
    group.coordinator_generation = generation
    asyncio.run(ConsumerRebalanceListener(group).on_partitions_assigned(set()))


def test_the_revoked_generations_recovery_does_not_resume_the_streams(resumed: list[int]) -> None:
    group = Group(generation=3)
    revoke(group)  # the group rebalances while generation 3 is still recovering
    assert rebalance_window.revoke_pending() and group.rebalances_started == 1
    recovery = FinishingRecovery()
    held = rebalance_window.late_recoveries_held
    asyncio.run(rebalance_window._on_recovery_completed(recovery, 3))
    assert resumed == [] and recovery.ended == 1  # no resume, no end of the rebalance
    assert rebalance_window.late_recoveries_held == held + 1


def test_the_next_assignments_recovery_completes_as_faust_does(resumed: list[int]) -> None:
    group = Group(generation=3)
    revoke(group)
    assign(group, 4)
    assert not rebalance_window.revoke_pending()
    assert group.app.consumer_generation_id == 4 and group.assigned == [4]
    asyncio.run(rebalance_window._on_recovery_completed(FinishingRecovery(), 4))
    assert resumed == [4]


def test_a_recovery_without_a_revoke_since_its_assignment_completes(resumed: list[int]) -> None:
    asyncio.run(rebalance_window._on_recovery_completed(FinishingRecovery(), 5))
    assert resumed == [5]
