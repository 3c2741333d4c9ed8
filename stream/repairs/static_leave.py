"""A static group member that stops cleanly leaves the group, so its partitions move at once.

With `group_instance_id` set (static membership: a restarted worker keeps its assignment without
a rebalance), aiokafka sends no LeaveGroup on close (`_maybe_leave_group`), and the group keeps
the stopped member until its session times out. KIP-345 lets a static member leave by instance
id (LeaveGroup v3). `install()` makes `_maybe_leave_group` send that request for static members;
a crashed worker still holds its partitions for the session timeout (see the README).
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import errors
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

log = logging.getLogger(__name__)


class LeaveGroupResponse_v3(Response):
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        (
            "members",
            Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")), ("error_code", Int16)),
        ),
    )


class LeaveGroupRequest_v3(RequestStruct):
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = LeaveGroupResponse_v3
    SCHEMA = Schema(
        ("group_id", String("utf-8")),
        ("members", Array(("member_id", String("utf-8")), ("group_instance_id", String("utf-8")))),
    )


class StaticLeaveGroupRequest(Request[LeaveGroupRequest_v3]):
    API_KEY = 13

    def __init__(self, group: str, member_id: str, instance_id: str) -> None:
        self._group, self._member_id, self._instance_id = group, member_id, instance_id

    def build(self, request_struct_class: type[LeaveGroupRequest_v3]) -> LeaveGroupRequest_v3:
        return request_struct_class(self._group, [(self._member_id, self._instance_id)])


_original = GroupCoordinator._maybe_leave_group


async def _leave_by_instance_id(self: Any) -> None:
    if self._group_instance_id is None or self.generation <= 0:
        await _original(self)
        return
    try:
        response = await self._send_req(StaticLeaveGroupRequest(self.group_id, self.member_id, self._group_instance_id))
        codes = [response.error_code] + [m[2] for m in response.members]
        if any(codes):
            log.warning("LeaveGroup (static member %s) answered errors %s", self._group_instance_id, codes)
        else:
            log.info("static member %s left the group", self._group_instance_id)
    except errors.KafkaError as exc:
        log.warning("LeaveGroup (static member %s) failed: %s", self._group_instance_id, exc)
    self.reset_generation()


def install() -> None:
    GroupCoordinator._maybe_leave_group = _leave_by_instance_id
