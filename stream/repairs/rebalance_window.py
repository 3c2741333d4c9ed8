"""Faust's table recovery, made to never end a rebalance that has already begun again.

When a rebalance starts (the group asks its members to rejoin), the consumer's revoke listener
sets `app.rebalancing`, Faust pauses every partition and stops the flow. The new assignment
comes only after every member has rejoined, which can take seconds. If the *previous*
assignment's table recovery finishes inside that window, Faust's `Recovery.on_recovery_completed`
still sees the old generation as current (the generation changes only with the new assignment),
so it resumes the stream partitions, seeks them to their committed offsets, resumes the flow and
ends the rebalance: `app.rebalancing` goes back to False while the partitions are already
promised to the new assignment. The agents then process events, write tables and commit offsets
for partitions another worker may be about to restore, after the revoke flushed this worker's
table writes: a write made then can reach the changelog after the new owner's writes, and the
next restore brings back the older value. (A CI run ended with a day owner's facts at the
revision before their invoices' lines; this window is the one path found by which a worker
writes a table after its revoke's flush.)

`install()` records the generation each revoke ends, and makes `on_recovery_completed` of that
generation return at once, as Faust does for an older generation: the rebalance stays under way
until the new assignment's recovery completes. `revoke_pending()` tells the commit guard
that a revoke has come and no assignment yet.
"""

from __future__ import annotations

import logging
from typing import Any

from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import ConsumerRebalanceListener

log = logging.getLogger(__name__)

_original_on_recovery_completed = Recovery.on_recovery_completed
_original_on_partitions_revoked = ConsumerRebalanceListener.on_partitions_revoked
_original_on_partitions_assigned = ConsumerRebalanceListener.on_partitions_assigned

#: The consumer generation the latest revoke ended (None before the first revoke, or once assigned).
_revoked_generation: int | None = None

#: Recoveries that completed after their partitions were revoked, held back (`/pulse/status/`).
late_recoveries_held = 0


def revoke_pending() -> bool:
    """True between a revoke and the next assignment: no partition may be processed or committed."""
    return _revoked_generation is not None


def _on_partitions_revoked(self: Any, revoked: Any) -> Any:
    global _revoked_generation
    _revoked_generation = self._thread.app.consumer_generation_id
    return _original_on_partitions_revoked(self, revoked)


async def _on_partitions_assigned(self: Any, assigned: Any) -> None:
    global _revoked_generation
    _revoked_generation = None
    await _original_on_partitions_assigned(self, assigned)


async def _on_recovery_completed(self: Any, generation_id: int = 0) -> None:
    if _revoked_generation is not None and _revoked_generation == generation_id:
        global late_recoveries_held
        late_recoveries_held += 1
        log.warning(
            "recovery of generation %d completed after its partitions were revoked: "
            "the rebalance goes on until the next assignment's recovery",
            generation_id,
        )
        self._set_recovery_ended()
        return
    await _original_on_recovery_completed(self, generation_id)


def install() -> None:
    """Patch Faust (before the app's consumer starts)."""
    ConsumerRebalanceListener.on_partitions_revoked = _on_partitions_revoked
    ConsumerRebalanceListener.on_partitions_assigned = _on_partitions_assigned
    Recovery.on_recovery_completed = _on_recovery_completed
