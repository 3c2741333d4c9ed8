"""The fetch loop hands an event on in place; a callback that has to wait behaves as in its own task."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mode import Service
from mode.utils.locks import Event

from stream.repairs import drain_step


class FetchLoop(Service):
    """What `drain_step.wait_first` reads of Faust's consumer: a mode service with `suspend_flow`."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = Event()


@contextmanager
def tasks_made() -> Iterator[list[Any]]:
    """The tasks created on the running loop inside the block."""
    made: list[Any] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(loop_: Any, coro: Any, **kwargs: Any) -> Any:
        task = asyncio.Task(coro, loop=loop_, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        yield made
    finally:
        loop.set_task_factory(previous)


async def test_a_callback_that_does_not_wait_runs_in_place() -> None:
    fetch = FetchLoop()
    delivered: list[int] = []

    async def on_message(offset: int) -> str:
        delivered.append(offset)  # the conductor puts the event in the agent's queue
        return "queued"

    suspended = fetch.suspend_flow.wait()
    with tasks_made() as made:
        result = await drain_step.wait_first(fetch, on_message(7), suspended)
    assert delivered == [7]
    assert result.results == ["queued"] and not result.stopped
    assert made == []  # mode's wait_first makes four: callback, suspend wait, stopped, crashed
    assert suspended.cr_frame is None  # closed, never awaited


async def test_a_callback_that_waits_goes_on_in_a_task_until_it_is_done() -> None:
    fetch = FetchLoop()
    room = asyncio.Event()
    steps: list[str] = []

    async def on_message() -> str:
        steps.append("first step")
        await room.wait()  # the agent's queue is full
        steps.append("put")
        return "queued"

    waiting = asyncio.ensure_future(drain_step.wait_first(fetch, on_message(), fetch.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert steps == ["first step"] and not waiting.done()
    room.set()
    result = await asyncio.wait_for(waiting, 5)
    assert steps == ["first step", "put"] and result.results == ["queued"]


async def test_a_waiting_callback_is_cancelled_when_the_flow_is_suspended() -> None:
    fetch = FetchLoop()
    ended: list[str] = []

    async def on_message() -> None:
        try:
            await asyncio.Event().wait()  # blocked until the rebalance
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise
        finally:
            ended.append("cleaned up")

    suspended = fetch.suspend_flow.wait()
    waiting = asyncio.ensure_future(drain_step.wait_first(fetch, on_message(), suspended))
    await asyncio.sleep(0.01)
    fetch.suspend_flow.set()  # a rebalance begins
    result = await asyncio.wait_for(waiting, 5)
    assert result.done == [suspended] and result.results == [True]  # the suspend wait won
    await asyncio.sleep(0)
    assert ended == ["cancelled", "cleaned up"]


async def test_an_error_in_the_first_step_propagates_and_closes_the_suspend_wait() -> None:
    fetch = FetchLoop()

    async def on_message() -> None:
        raise ValueError("undecodable")

    suspended = fetch.suspend_flow.wait()
    with pytest.raises(ValueError, match="undecodable"):
        await drain_step.wait_first(fetch, on_message(), suspended)
    assert suspended.cr_frame is None


async def test_with_the_flow_suspended_the_original_race_decides() -> None:
    fetch = FetchLoop()
    fetch.suspend_flow.set()
    ran: list[str] = []

    async def on_message() -> None:
        ran.append("ran")

    result = await drain_step.wait_first(fetch, on_message(), fetch.suspend_flow.wait())
    assert len(result.done) >= 1 and not result.stopped  # mode's wait_first raced them, as before the repair
