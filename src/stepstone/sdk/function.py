"""A durable function: its handler, its options, and the configuration it registers.

A function holds the client that made it as an `App`: the protocol of what the function and its runs use
of `client.Stepstone`, which imports this module (not the other way) to make functions.
"""

from __future__ import annotations

import inspect
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any, Literal, Protocol

import httpx
import pydantic

from stepstone.protocol import config as wire_config
from stepstone.protocol import events, stepids
from stepstone.protocol.events import Event
from stepstone.sdk import errors, options, serialization, transport

# `async def fn(ctx: Context)` or `def fn(ctx: ContextSync)`.
Handler = Callable[..., Any]
OnFailure = Callable[..., Any]
Trigger = options.TriggerEvent | options.TriggerCron
Logger = logging.Logger | logging.LoggerAdapter[Any]

_PLACEHOLDER_URL = "http://validate.invalid/api/inngest"


class App(Protocol):
    """The client a function belongs to, as its runs use it: ids, logging, serialization, the engine's
    address and keys, HTTP and event sending. `client.Stepstone` is the implementation."""

    @property
    def app_id(self) -> str: ...

    @property
    def logger(self) -> Logger: ...

    @property
    def serializer(self) -> serialization.Serializer: ...

    @property
    def env(self) -> str | None: ...

    @property
    def signing_key(self) -> str | None: ...

    @property
    def signing_key_fallback(self) -> str | None: ...

    def api_url(self, path: str) -> str: ...

    def http(self) -> transport.AsyncSender: ...

    def http_sync(self) -> httpx.Client: ...

    async def send(self, events: Event | list[Event]) -> list[str]: ...

    def send_sync(self, events: Event | list[Event]) -> list[str]: ...


class Function:
    """A function made by `Stepstone.create_function`; pass it to `serve()`.

    Attributes:
        id: The registered id, `"{app_id}-{fn_id}"`.
        local_id: The id as given to `create_function`.
        name: The display name.
        retries: The configured retries, or None for the engine's default.
        output_type: The declared type of the return value, or None.
    """

    def __init__(
        self,
        client: App,
        handler: Handler,
        *,
        fn_id: str,
        trigger: Trigger | list[Trigger],
        name: str | None = None,
        retries: int | None = None,
        cancel: list[options.Cancel] | None = None,
        timeouts: options.Timeouts | None = None,
        on_failure: OnFailure | None = None,
        concurrency: list[options.Concurrency] | None = None,
        throttle: options.Throttle | None = None,
        rate_limit: options.RateLimit | None = None,
        debounce: options.Debounce | None = None,
        batch_events: options.Batch | None = None,
        priority: options.Priority | None = None,
        singleton: options.Singleton | None = None,
        idempotency: str | None = None,
        output_type: object | None = None,
        nondeterminism: Literal["warn", "fail"] | None = None,
    ) -> None:
        self.client = client
        self.handler = handler
        self.local_id = fn_id
        self.id = f"{client.app_id}-{fn_id}"
        self.name = name or fn_id
        self.retries = retries
        self.on_failure = on_failure
        self.output_type = output_type if output_type is not None else serialization.return_type(handler)
        self.triggers = trigger if isinstance(trigger, list) else [trigger]
        self.cancel = cancel or []
        self.concurrency = concurrency or []
        self.idempotency = idempotency
        self.nondeterminism = nondeterminism
        self._flow_control: dict[str, _Option | None] = {
            "timeouts": timeouts,
            "throttle": throttle,
            "rate_limit": rate_limit,
            "debounce": debounce,
            "batch_events": batch_events,
            "priority": priority,
            "singleton": singleton,
        }
        self._validate()

    @property
    def is_handler_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)

    @property
    def on_failure_fn_id(self) -> str | None:
        """The id of the failure handler's function, or None without `on_failure`."""
        return self.id + wire_config.FAILURE_SUFFIX if self.on_failure is not None else None

    def handler_for(self, fn_id: str) -> tuple[Handler, object | None] | None:
        """The handler and output type serving `fn_id` (this function or its failure handler)."""
        if fn_id == self.id:
            return self.handler, self.output_type
        if self.on_failure is not None and fn_id == self.on_failure_fn_id:
            return self.on_failure, None
        return None

    def config(self, serve_url: str) -> wire_config.FunctionConfig:
        """The function's registration, with its step URL under `serve_url`."""
        retries = wire_config.RetriesConfig(attempts=self.retries) if self.retries is not None else None
        flow_control = {name: _to_config(name, option) for name, option in self._flow_control.items()}
        return wire_config.FunctionConfig(
            id=self.id,
            name=self.name,
            triggers=[_to_config("trigger", trigger) for trigger in self.triggers],
            steps={stepids.UNTARGETED: _step(serve_url, self.id, retries)},
            cancel=[_to_config("cancel", item) for item in self.cancel] or None,
            concurrency=[_to_config("concurrency", item) for item in self.concurrency] or None,
            idempotency=self.idempotency,
            nondeterminism=self.nondeterminism,
            **flow_control,
        )

    def failure_config(self, serve_url: str) -> wire_config.FunctionConfig | None:
        """The failure handler's registration, or None without `on_failure`."""
        failure_id = self.on_failure_fn_id
        if failure_id is None:
            return None
        return wire_config.FunctionConfig(
            id=failure_id,
            name=f"{self.name} (failure)",
            triggers=[
                wire_config.TriggerConfig(
                    event=events.FUNCTION_FAILED, expression=f"event.data.function_id == '{self.id}'"
                )
            ],
            steps={stepids.UNTARGETED: _step(serve_url, failure_id, wire_config.RetriesConfig(attempts=0))},
        )

    def configs(self, serve_url: str) -> list[wire_config.FunctionConfig]:
        """Every function this one registers: itself, then its failure handler if any."""
        failure = self.failure_config(serve_url)
        return [self.config(serve_url)] if failure is None else [self.config(serve_url), failure]

    def _validate(self) -> None:
        def invalid(message: str) -> errors.FunctionConfigInvalidError:
            return errors.FunctionConfigInvalidError(f"function {self.local_id!r}: {message}", self.local_id)

        if not self.local_id:
            raise invalid("fn_id must not be empty")
        if not self.triggers:
            raise invalid("give at least one trigger")
        if self.nondeterminism not in (None, "warn", "fail"):
            raise invalid(f"nondeterminism must be 'warn' or 'fail', not {self.nondeterminism!r}")
        if self.retries is not None and self.retries < 0:
            raise invalid("retries must be 0 or more")
        if self.on_failure is not None and inspect.iscoroutinefunction(self.on_failure) != self.is_handler_async:
            raise invalid("on_failure must be async if and only if the function is async")
        try:
            self.configs(_PLACEHOLDER_URL)
        except pydantic.ValidationError as err:
            problem = err.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise invalid(f"{where}: {problem['msg']}") from None
        except (TypeError, ValueError) as err:
            raise invalid(str(err)) from None


class _Option(Protocol):
    def to_config(self) -> Any: ...


def _to_config(name: str, option: _Option | None) -> Any:
    if option is None:
        return None
    try:
        return option.to_config()
    except ValueError as err:  # pydantic's ValidationError is a ValueError too
        raise ValueError(f"{name}: {err}") from None


def _step(serve_url: str, fn_id: str, retries: wire_config.RetriesConfig | None) -> wire_config.StepConfig:
    query = urllib.parse.urlencode({"fnId": fn_id, "stepId": stepids.UNTARGETED})
    url = f"{serve_url}?{query}"
    runtime = wire_config.RuntimeConfig(type="ws" if url.startswith("wss://") else "http", url=url)
    return wire_config.StepConfig(id=stepids.UNTARGETED, name=stepids.UNTARGETED, runtime=runtime, retries=retries)
