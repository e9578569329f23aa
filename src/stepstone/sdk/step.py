"""The step methods: `Step` for async functions, `StepSync` for plain ones, with the same names.

Both build a `StepCall` the same way (`StepBase`) and hand it to their execution, which decides what
happens (`replay.Replay.decide`); they differ only in awaiting. The executions (`execution_async`,
`execution_sync`) make the steps, so this module knows them only as the `Runner` protocols below.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar, TypeVarTuple, overload

from stepstone.protocol import durations, opcodes
from stepstone.protocol.events import Event
from stepstone.sdk import errors, replay, serialization
from stepstone.sdk.function import App, Function
from stepstone.sdk.replay import Memo, Replay, StepCall

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
Duration = int | timedelta | str
OnConflict = Literal["fail", "replace"]


@dataclass(frozen=True)
class FetchResponse:
    """What `step.fetch` returns: the answer the engine received, whatever its status."""

    url: str
    """The URL requested, without its query (credentials travel there)."""
    status_code: int
    headers: dict[str, str]
    """Lower-case names."""
    body: str | None
    """The body as text; None for statuses that have none (204, 304, ...)."""

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The body parsed as JSON (None for no body); `ValueError` when it is not JSON."""
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Signal:
    """What `wait_for_signal` returns: the signal's name and the data it was sent with (any JSON)."""

    signal: str
    data: Any


class Runner(Protocol):
    """What the step methods use of the execution running the function (`execution.Runner`)."""

    @property
    def client(self) -> App: ...

    @property
    def replay(self) -> Replay: ...


class AsyncRunner(Runner, Protocol):
    """An async function's execution (`execution_async.AsyncExecution`): decides and runs a step."""

    async def step(self, call: StepCall) -> Any: ...


class SyncRunner(Runner, Protocol):
    """A plain function's execution (`execution_sync.SyncExecution`): decides and runs a step."""

    def step(self, call: StepCall) -> Any: ...


class StepBase:
    """Builds step calls; shared by `Step` and `StepSync`."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._client = runner.client

    def _new(self, step_id: str, opcode: opcodes.Opcode, name: str | None, read: Callable[[Memo], Any]) -> StepCall:
        if replay.in_step.get():
            raise errors.StepNestedError(f"step {step_id!r} was reached inside a step.run callback; steps cannot nest")
        ident = self._runner.replay.ids.next(step_id)
        return StepCall(
            step_id=ident, opcode=opcode, name=name or step_id, read=read, parallel=replay.current_parallel.get()
        )

    def _run_call(
        self,
        step_id: str,
        handler: Callable[..., Any],
        args: tuple[Any, ...],
        output_type: object | None,
        opts: dict[str, Any] | None = None,
    ) -> StepCall:
        typ = output_type if output_type is not None else serialization.return_type(handler)
        call = self._new(step_id, opcodes.Opcode.STEP_RUN, None, self._reader(typ))
        call.handler, call.args, call.output_type, call.opts = handler, args, typ, opts
        return call

    def _sleep_call(self, step_id: str, until: datetime) -> StepCall:
        return self._new(step_id, opcodes.Opcode.SLEEP, durations.format_time(until), _read_none)

    def _sleep_for_call(self, step_id: str, duration: Duration) -> StepCall:
        delta = durations.to_timedelta(duration)
        call = self._sleep_call(step_id, self._runner.replay.now() + delta)
        # The engine measures a relative sleep on its own clock (`opts.duration` wins over `name`).
        call.opts = {"duration": f"{max(0, round(delta.total_seconds() * 1000))}ms"}
        return call

    def _wait_call(self, step_id: str, event: str, timeout: Duration, if_exp: str | None) -> StepCall:
        call = self._new(step_id, opcodes.Opcode.WAIT_FOR_EVENT, event, _read_event)
        call.opts = {"event": event, "if": if_exp, "timeout": _wire_duration(timeout)}
        return call

    def _signal_call(self, step_id: str, signal: str, timeout: Duration, on_conflict: OnConflict) -> StepCall:
        if on_conflict not in ("fail", "replace"):
            raise ValueError(f"on_conflict must be 'fail' or 'replace', not {on_conflict!r}")
        call = self._new(step_id, opcodes.Opcode.WAIT_FOR_SIGNAL, signal, _read_signal)
        call.opts = {"signal": signal, "timeout": _wire_duration(timeout), "conflict": on_conflict}
        return call

    def _fetch_call(
        self,
        step_id: str,
        url: str,
        method: str,
        headers: Mapping[str, str] | None,
        body: str | None,
        json_body: object,
    ) -> StepCall:
        given = dict(headers or {})
        if json_body is not None:
            if body is not None:
                raise ValueError("give body= or json=, not both")
            body = json.dumps(json_body)
            if not any(name.lower() == "content-type" for name in given):
                given["content-type"] = "application/json"
        call = self._new(step_id, opcodes.Opcode.GATEWAY, None, _read_fetch)
        call.opts = {"url": url, "method": method.upper(), "headers": given, "body": body}
        return call

    def _invoke_call(
        self,
        step_id: str,
        function_id: str,
        data: Mapping[str, object] | None,
        timeout: Duration | None,
        output_type: object | None,
    ) -> StepCall:
        call = self._new(step_id, opcodes.Opcode.INVOKE_FUNCTION, None, self._reader(output_type))
        call.opts = {
            "function_id": function_id,
            "payload": {"data": dict(data or {})},
            "timeout": None if timeout is None else _wire_duration(timeout),
        }
        return call

    def _reader(self, typ: object | None) -> Callable[[Memo], Any]:
        serializer = self._client.serializer

        def read(memo: Memo) -> Any:
            if memo.error is not None:
                raise replay.read_error(memo)
            return serializer.deserialize(memo.data, typ)

        return read


def _read_none(memo: Memo) -> None:
    return None


def _read_event(memo: Memo) -> Event | None:
    if memo.error is not None:
        raise replay.read_error(memo)
    return None if memo.data is None else Event.model_validate(memo.data)


def _read_fetch(memo: Memo) -> FetchResponse:
    if memo.error is not None:
        raise replay.read_error(memo)
    answer = memo.data if isinstance(memo.data, dict) else {}
    headers = answer.get("headers") or {}
    return FetchResponse(
        url=str(answer.get("url", "")),
        status_code=int(answer.get("status_code", 0)),
        headers={str(name).lower(): str(value) for name, value in headers.items()},
        body=answer.get("body"),
    )


def _read_signal(memo: Memo) -> Signal | None:
    if memo.error is not None:
        raise replay.read_error(memo)
    if not isinstance(memo.data, dict):
        return None  # timed out
    return Signal(signal=str(memo.data.get("signal", "")), data=memo.data.get("data"))


def _wire_duration(value: Duration) -> str:
    return durations.format_duration(durations.to_timedelta(value))


class Step(StepBase):
    """Step methods of an async function (`ctx.step`)."""

    _runner: AsyncRunner

    @overload
    async def run(
        self,
        step_id: str,
        handler: Callable[[*Ts], Awaitable[T]],
        *args: *Ts,
        output_type: object | None = None,
    ) -> T: ...

    @overload
    async def run(
        self, step_id: str, handler: Callable[[*Ts], T], *args: *Ts, output_type: object | None = None
    ) -> T: ...

    async def run(
        self, step_id: str, handler: Callable[[*Ts], Any], *args: *Ts, output_type: object | None = None
    ) -> Any:
        """Run `handler(*args)` once; later calls of the run get its memoized output.

        A plain (non-async) handler runs in a thread, off the event loop. A failure is retried as a
        step; once retries are exhausted, `StepError` is raised here. `NonRetriableError` and
        `RetryAfterError` raised by the handler fail the function itself.

        Args:
            step_id: The step's id, unique in the function (a repeat becomes `id:1`, `id:2`, ...).
            handler: The code to run; it must return JSON or something pydantic can dump.
            *args: Arguments for `handler`.
            output_type: The type to read the memoized output back as (default: the handler's return
                annotation, else plain JSON).

        Returns:
            The handler's output, read back as `output_type`.

        Raises:
            StepError: the step failed for good.
        """
        return await self._runner.step(self._run_call(step_id, handler, args, output_type))

    async def sleep(self, step_id: str, duration: Duration) -> None:
        """Pause the run for `duration` (int milliseconds, `timedelta` or `"30m"`) without holding a worker."""
        await self._runner.step(self._sleep_for_call(step_id, duration))

    async def sleep_until(self, step_id: str, until: datetime) -> None:
        """Pause the run until `until` (a naive datetime is local time)."""
        await self._runner.step(self._sleep_call(step_id, until))

    async def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: Duration,
        if_exp: str | None = None,
    ) -> Event | None:
        """Wait for an event named `event` matching `if_exp`; None when `timeout` passes first.

        `if_exp` is a CEL expression over `event` (the run's trigger) and `async` (the candidate).
        """
        result: Event | None = await self._runner.step(self._wait_call(step_id, event, timeout, if_exp))
        return result

    async def fetch(
        self,
        step_id: str,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        json: object = None,
    ) -> FetchResponse:
        """Have the engine make an HTTP request and store its answer: the app holds no process while the
        other side takes its time, and a replay reads the stored answer instead of asking again.

        Any status is an answer (check `.ok`); only no answer at all (unreachable, timed out) is a failed
        attempt, retried as the function's retries allow, and then a `StepError`. `json=` sends that value
        as JSON with `content-type: application/json`. The engine keeps no headers or query of the request.
        """
        result: FetchResponse = await self._runner.step(self._fetch_call(step_id, url, method, headers, body, json))
        return result

    async def wait_for_signal(
        self, step_id: str, *, signal: str, timeout: Duration, on_conflict: OnConflict = "fail"
    ) -> Signal | None:
        """Wait until `client.send_signal(signal, data)` (or `POST /v1/signals`) names this signal; None when
        `timeout` passes first.

        One run at a time waits for a signal: if another run already waits for it, `on_conflict="fail"`
        fails this run, and `"replace"` takes the signal over (the other wait then ends at its timeout).
        """
        result: Signal | None = await self._runner.step(self._signal_call(step_id, signal, timeout, on_conflict))
        return result

    async def invoke(
        self,
        step_id: str,
        *,
        function: Function,
        data: Mapping[str, object] | None = None,
        timeout: Duration | None = None,
    ) -> Any:
        """Run `function` of this app with `data` as its event data and return its output.

        Raises:
            StepError: the invoked function failed, or `timeout` passed.
        """
        call = self._invoke_call(step_id, function.id, data, timeout, function.output_type)
        return await self._runner.step(call)

    async def invoke_by_id(
        self,
        step_id: str,
        *,
        app_id: str | None = None,
        function_id: str,
        data: Mapping[str, object] | None = None,
        timeout: Duration | None = None,
    ) -> Any:
        """Run the function `function_id` of app `app_id` (default: this app); see `invoke`."""
        full_id = f"{app_id or self._client.app_id}-{function_id}"
        return await self._runner.step(self._invoke_call(step_id, full_id, data, timeout, None))

    async def send_event(self, step_id: str, events: Event | list[Event]) -> list[str]:
        """Send events once (a step, so a retried run does not send them again); returns their ids."""

        async def send() -> list[str]:
            return await self._client.send(events)

        call = self._run_call(step_id, send, (), list[str], {"type": opcodes.STEP_TYPE_SEND_EVENT})
        result: list[str] = await self._runner.step(call)
        return result


class StepSync(StepBase):
    """Step methods of a plain function (`ctx.step`); see `Step` for each method."""

    _runner: SyncRunner

    def run(self, step_id: str, handler: Callable[[*Ts], T], *args: *Ts, output_type: object | None = None) -> T:
        """Run `handler(*args)` once; later calls of the run get its memoized output."""
        result: T = self._runner.step(self._run_call(step_id, handler, args, output_type))
        return result

    def sleep(self, step_id: str, duration: Duration) -> None:
        """Pause the run for `duration` (int milliseconds, `timedelta` or `"30m"`)."""
        self._runner.step(self._sleep_for_call(step_id, duration))

    def sleep_until(self, step_id: str, until: datetime) -> None:
        """Pause the run until `until`."""
        self._runner.step(self._sleep_call(step_id, until))

    def wait_for_event(self, step_id: str, *, event: str, timeout: Duration, if_exp: str | None = None) -> Event | None:
        """Wait for a matching event; None when `timeout` passes first."""
        result: Event | None = self._runner.step(self._wait_call(step_id, event, timeout, if_exp))
        return result

    def fetch(
        self,
        step_id: str,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        json: object = None,
    ) -> FetchResponse:
        """Have the engine make an HTTP request and store its answer (see `Step.fetch`)."""
        result: FetchResponse = self._runner.step(self._fetch_call(step_id, url, method, headers, body, json))
        return result

    def wait_for_signal(
        self, step_id: str, *, signal: str, timeout: Duration, on_conflict: OnConflict = "fail"
    ) -> Signal | None:
        """Wait until the signal is sent; None when `timeout` passes first (see `Step.wait_for_signal`)."""
        result: Signal | None = self._runner.step(self._signal_call(step_id, signal, timeout, on_conflict))
        return result

    def invoke(
        self,
        step_id: str,
        *,
        function: Function,
        data: Mapping[str, object] | None = None,
        timeout: Duration | None = None,
    ) -> Any:
        """Run `function` of this app and return its output."""
        return self._runner.step(self._invoke_call(step_id, function.id, data, timeout, function.output_type))

    def invoke_by_id(
        self,
        step_id: str,
        *,
        app_id: str | None = None,
        function_id: str,
        data: Mapping[str, object] | None = None,
        timeout: Duration | None = None,
    ) -> Any:
        """Run the function `function_id` of app `app_id` (default: this app)."""
        full_id = f"{app_id or self._client.app_id}-{function_id}"
        return self._runner.step(self._invoke_call(step_id, full_id, data, timeout, None))

    def send_event(self, step_id: str, events: Event | list[Event]) -> list[str]:
        """Send events once; returns their ids."""
        call = self._run_call(
            step_id, lambda: self._client.send_sync(events), (), list[str], {"type": opcodes.STEP_TYPE_SEND_EVENT}
        )
        result: list[str] = self._runner.step(call)
        return result
