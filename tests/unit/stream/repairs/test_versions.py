"""The repairs refuse to run on library versions they were not written against."""

from __future__ import annotations

import pytest
from aiokafka.consumer.group_coordinator import GroupCoordinator

from stream.repairs import PINNED, check_versions, static_leave


def test_the_pinned_versions_are_installed() -> None:
    check_versions()  # the installed ones: a mismatch raises


def test_another_version_is_refused_with_its_name() -> None:
    with pytest.raises(RuntimeError, match=r"faust-streaming 0\.16\.0"):
        check_versions({**PINNED, "faust-streaming": "0.16.0"})


def test_a_static_member_leaves_by_instance_id() -> None:
    request = static_leave.StaticLeaveGroupRequest("group", "member-1", "worker-a")
    built = request.build(static_leave.LeaveGroupRequest_v3)
    assert built.API_VERSION == 3
    assert built.members == [("member-1", "worker-a")]
    static_leave.install()
    assert GroupCoordinator._maybe_leave_group is static_leave._leave_by_instance_id
