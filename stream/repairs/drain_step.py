"""Faust's fetch loop, made to hand an event to the agents without four tasks per event.

`Consumer._drain_messages` passes every fetched event to the conductor as
`await self.wait_first(callback(message), self.suspend_flow.wait())`: mode's `wait_first` wraps
the callback, the suspend wait and the service's stopped and crashed events in four tasks, waits
for the first, and cancels the other three. The callback almost never waits (it puts the event in
the agent's queue), so that machinery is most of the cost of handing one event on.

`install()` gives the consumer a `wait_first` that, while the flow is not suspended, runs the
callback's first step in place: finished there (the common case), nothing else is created. A
callback that has to wait (a full queue, a stopped flow, a full producer buffer) goes on where it
stopped, in a task raced against the suspend wait and the service's events, as before. Only the
first step runs in the fetch loop's task instead of a task of its own.
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.consumer import Consumer
from mode.services import WaitResults

_original_wait_first = Consumer.wait_first


@types.coroutine
def _rest(coro: Coroutine[Any, Any, Any], step: Any) -> Generator[Any, Any, Any]:
    """Drive `coro` on from the step it yielded, as the task it would have run in: what the task
    sends or throws goes to `coro`, what `coro` yields (the future it waits for) goes to the task."""
    while True:
        try:
            sent = yield step
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # the task was cancelled, or the future failed
            try:
                step = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                step = coro.send(sent)
            except StopIteration as stop:
                return stop.value


async def continue_from(coro: Coroutine[Any, Any, Any], step: Any) -> Any:
    """The rest of `coro`, whose first step yielded `step`, as an awaitable for a task."""
    return await _rest(coro, step)


async def wait_first(self: Any, *coros: Any, timeout: Any = None) -> WaitResults:  # noqa: ASYNC109  (mode's signature)
    if (
        timeout is None
        and len(coros) == 2
        and type(coros[0]) is types.CoroutineType
        and not self.suspend_flow.is_set()
        and not self._stopped.is_set()
        and not self._crashed.is_set()
    ):
        callback, suspended = coros
        try:
            step = callback.send(None)
        except StopIteration as done:
            if type(suspended) is types.CoroutineType:
                suspended.close()  # never started: closed, so it is not reported as never awaited
            return WaitResults([callback], [done.value], False)
        except BaseException:
            if type(suspended) is types.CoroutineType:
                suspended.close()
            raise  # wait_first propagates the callback's exception too
        coros = (continue_from(callback, step), suspended)
    return await _original_wait_first(self, *coros, timeout=timeout)


def install() -> None:
    Consumer.wait_first = wait_first
