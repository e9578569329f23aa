"""Executing a call request of an async function: steps started together are decided together.

The function runs as a task. A step with no memo parks on a future and joins a batch; once the event
loop has settled (a few iterations with no new arrival), the batch is decided at once with
`Replay.decide`: exactly one new `step.run` may run (in the function's own task, so its context and
traceback are the user's); several are planned together in one answer (`asyncio.gather` and
`group.parallel` alike); skipped steps stay parked. When the answer is ready the task is cancelled.
While a step runs, new arrivals wait, so at most one step runs at a time.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, NoReturn

from stepstone.sdk import context, errors, group, outcomes, step, transport
from stepstone.sdk.execution import Invocation, Options, Runner, bubbles, report_op
from stepstone.sdk.replay import Action, StepCall, in_step

SETTLE_ROUNDS = 2  # event-loop iterations without a new step before a batch is decided
MAX_SETTLE_ROUNDS = 1000


class AsyncExecution(Runner):
    """Runs an async function; see the module docstring."""

    def __init__(self, invocation: Invocation, options: Options) -> None:
        super().__init__(invocation, options)
        self.ctx = context.Context(step=step.Step(self), group=group.Group(), **self.context_fields())
        self.attempt_changed = lambda attempt: setattr(self.ctx, "attempt", attempt)
        self._target_wait = options.target_wait.total_seconds()
        self._arrived: list[tuple[StepCall, asyncio.Future[None]]] = []
        self._news = asyncio.Event()
        self._running = 0
        self._final: outcomes.Outcome | None = None

    async def run(self) -> outcomes.Outcome:
        task = asyncio.create_task(self._call_function())
        try:
            while self._final is None and not task.done():
                await self._wait(task)
                self._dispatch(task)
            return await self._answer(self._final or self._completed(task))
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def step(self, call: StepCall) -> Any:
        memo = self.replay.lookup(call)
        if memo is not None:
            return call.read(memo)
        allowed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._arrived.append((call, allowed))
        self._news.set()
        await allowed  # resolved only when this step may run; otherwise cancelled with the function
        try:
            ending = await self._save_held()
            if ending is not None:
                await self._end(ending)
            return await self._execute(call)
        finally:
            self._running -= 1
            self._news.set()

    async def _execute(self, call: StepCall) -> Any:
        try:
            value = await self._invoke(call)
        except Exception as err:
            if bubbles(err):
                raise
            await self._end(outcomes.Reported([self.run_failed(call, err)], err))
        op, result = self.ran(call, value)
        if self.checkpointer is None:
            await self._end(outcomes.Reported([op]))
        self.checkpointer.hold(op)
        self.saved()
        return result

    async def _save_held(self) -> outcomes.Outcome | None:
        if self.checkpointer is None:
            return None
        return await transport.drive(self.checkpointer.save_held(), self.client.http())

    async def _answer(self, outcome: outcomes.Outcome) -> outcomes.Outcome:
        if self.checkpointer is None:
            return outcome
        return await transport.drive(self.checkpointer.answer(outcome), self.client.http())

    async def _invoke(self, call: StepCall) -> Any:
        assert call.handler is not None
        token = in_step.set(True)
        try:
            with self.traced(call):  # to_thread copies the context: a plain handler's spans join too
                if inspect.iscoroutinefunction(call.handler):
                    return await call.handler(*call.args)
                result = await asyncio.to_thread(call.handler, *call.args)  # keep the event loop free
                return await result if inspect.isawaitable(result) else result
        finally:
            in_step.reset(token)

    async def _end(self, outcome: outcomes.Outcome) -> NoReturn:
        self._final = outcome
        self._news.set()
        await asyncio.get_running_loop().create_future()  # parked until the function task is cancelled
        raise AssertionError("unreachable")

    async def _call_function(self) -> Any:
        return await self.invocation.handler(self.ctx)

    async def _wait(self, task: asyncio.Task[Any]) -> None:
        """Wait for news (a step arrived or ended, or the function ended), then let the loop settle."""
        if not self._news.is_set():
            targeting = self.replay.target is not None and not self._running
            news = asyncio.ensure_future(self._news.wait())
            try:
                timeout = self._target_wait if targeting else None
                await asyncio.wait({task, news}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                news.cancel()
        self._news.clear()
        stable = 0
        for _ in range(MAX_SETTLE_ROUNDS):
            if stable >= SETTLE_ROUNDS or task.done() or self._final is not None:
                break
            before = len(self._arrived)
            await asyncio.sleep(0)
            stable = stable + 1 if len(self._arrived) == before else 0

    def _dispatch(self, task: asyncio.Task[Any]) -> None:
        if self._final is not None or task.done() or self._running:
            return
        batch, self._arrived = self._arrived, []
        if not batch and self.replay.target is not None:  # waited long enough: the target is not coming
            self._final = self.failed(self.replay.unreached())
        ops = []
        for call, allowed in batch:
            action = self.replay.decide(call, alone=len(batch) == 1)
            if action is Action.RUN and self.checkpointer is not None and self.checkpointer.out_of_time():
                self._final = self.checkpointer.rediscover(call.hashed)
            elif action is Action.RUN:
                self._running += 1
                allowed.set_result(None)
            elif action is not Action.SKIP:
                ops.append(report_op(call, action))
        if ops:
            self._final = outcomes.Reported(ops)

    def _completed(self, task: asyncio.Task[Any]) -> outcomes.Outcome:
        if task.cancelled():
            return self.failed(RuntimeError("the function's task was cancelled"))
        err = task.exception()
        if err is not None:
            return self.failed(err)
        try:
            return self.output(task.result())
        except errors.OutputUnserializableError as unserializable:
            return self.failed(unserializable)


async def run_async(invocation: Invocation, options: Options) -> outcomes.Outcome:
    """Execute a call request of an async function."""
    return await AsyncExecution(invocation, options).run()
