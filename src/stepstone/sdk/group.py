"""`ctx.group.parallel`: start several steps together, so the engine runs them side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from stepstone.sdk import errors, replay
from stepstone.sdk.replay import ParallelMode

T = TypeVar("T")


class Group:
    """Step grouping for async functions (`ctx.group`)."""

    async def parallel(
        self,
        callables: tuple[Callable[[], Awaitable[T]], ...],
        parallel_mode: ParallelMode = ParallelMode.WAIT,
    ) -> tuple[T, ...]:
        """Start each callable's steps together and return their results in order.

        New `step.run` calls found here are planned (`StepPlanned`), never run inline, and the engine
        calls back once per step. `asyncio.gather` over steps works too; this adds `parallel_mode`.

        Args:
            callables: Zero-argument callables, e.g. `lambda: ctx.step.run("a", fetch_a)`.
            parallel_mode: `ParallelMode.RACE` lets the run continue after each step ends.

        Returns:
            The callables' results, in the order given.
        """
        token = replay.current_parallel.set(parallel_mode)
        try:
            # gather wraps each coroutine in a task, which copies the context set above.
            return tuple(await asyncio.gather(*(callable_() for callable_ in callables)))
        finally:
            replay.current_parallel.reset(token)


class GroupSync:
    """Step grouping for plain functions (`ctx.group`)."""

    def parallel(
        self,
        callables: tuple[Callable[[], T], ...],
        parallel_mode: ParallelMode = ParallelMode.WAIT,
    ) -> tuple[T, ...]:
        """Plan each callable's first new step in turn and report them together; see `Group.parallel`."""
        token = replay.current_parallel.set(parallel_mode)
        try:
            results: list[Any] = []
            ops: list[dict[str, Any]] = []
            error: BaseException | None = None
            skipped: errors.SkipInterrupt | None = None
            for callable_ in callables:
                try:
                    results.append(callable_())
                except errors.ReportInterrupt as interrupt:
                    ops.extend(interrupt.ops)
                    error = error or interrupt.error
                except errors.SkipInterrupt as skip:
                    skipped = skip
            if ops:
                raise errors.ReportInterrupt(ops, error)
            if skipped is not None:  # the targeted step is not in this group: stop here too
                raise skipped
            return tuple(results)
        finally:
            replay.current_parallel.reset(token)
