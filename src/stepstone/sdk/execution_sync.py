"""Executing a call request of a plain function: steps are met one at a time.

A step that must stop the function (report, plan, skip, end) raises an `errors.Interrupt`, which
derives from `BaseException` so that user code cannot swallow it; `run` turns it into the outcome.
"""

from __future__ import annotations

import inspect
from typing import Any

from stepstone.sdk import context, errors, group, outcomes, step, transport
from stepstone.sdk.execution import Invocation, Options, Runner, bubbles, report_op
from stepstone.sdk.replay import Action, StepCall, in_step


class SyncExecution(Runner):
    """Runs a plain function; see the module docstring."""

    def __init__(self, invocation: Invocation, options: Options) -> None:
        super().__init__(invocation, options)
        self.ctx = context.ContextSync(step=step.StepSync(self), group=group.GroupSync(), **self.context_fields())
        self.attempt_changed = lambda attempt: setattr(self.ctx, "attempt", attempt)

    def run(self) -> outcomes.Outcome:
        """Run the function; a return carries the held step, anything else waits until it is saved."""
        outcome = self._run()
        if self.checkpointer is None:
            return outcome
        return transport.drive_sync(self.checkpointer.answer(outcome), self.client.http_sync())

    def _run(self) -> outcomes.Outcome:
        try:
            return self.output(self.invocation.handler(self.ctx))
        except errors.ReportInterrupt as interrupt:
            return outcomes.Reported(interrupt.ops, interrupt.error)
        except errors.EndInterrupt as interrupt:
            return interrupt.outcome  # type: ignore[return-value]
        except errors.SkipInterrupt:
            return self.failed(self.replay.unreached())
        except Exception as err:
            return self.failed(err)

    def step(self, call: StepCall) -> Any:
        memo = self.replay.lookup(call)
        if memo is not None:
            return call.read(memo)
        ending = self._save_held()
        if ending is not None:
            raise errors.EndInterrupt(ending)
        action = self.replay.decide(call, alone=True)
        if action is Action.SKIP:
            raise errors.SkipInterrupt(call.step_id.user_id)
        if action is not Action.RUN:
            raise errors.ReportInterrupt([report_op(call, action)])
        if self.checkpointer is not None and self.checkpointer.out_of_time():
            raise errors.EndInterrupt(self.checkpointer.rediscover(call.hashed))
        try:
            value = self._invoke(call)
        except Exception as err:
            if bubbles(err):
                raise
            raise errors.ReportInterrupt([self.run_failed(call, err)], err) from None
        op, result = self.ran(call, value)
        if self.checkpointer is None:
            raise errors.ReportInterrupt([op])
        self.checkpointer.hold(op)
        self.saved()
        return result

    def _save_held(self) -> outcomes.Outcome | None:
        if self.checkpointer is None:
            return None
        return transport.drive_sync(self.checkpointer.save_held(), self.client.http_sync())

    def _invoke(self, call: StepCall) -> Any:
        assert call.handler is not None
        token = in_step.set(True)
        try:
            with self.traced(call):
                result = call.handler(*call.args)
        finally:
            in_step.reset(token)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError(f"step {call.step_id.user_id!r}: a plain function's step.run needs a plain callback")
        return result


def run_sync(invocation: Invocation, options: Options) -> outcomes.Outcome:
    """Execute a call request of a plain function."""
    return SyncExecution(invocation, options).run()
