"""The client: settings, event sending and the `create_function` decorator."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Literal

import httpx

from stepstone.protocol import events as wire_events
from stepstone.sdk import options, redaction, sending, serialization, settings, transport
from stepstone.sdk.function import Function, Handler, Logger, OnFailure
from stepstone.sdk.transport import AsyncSender


class Stepstone:
    """A Stepstone app: sends events and defines the functions it serves.

    Args:
        app_id: The app's id; function ids are registered as `"{app_id}-{fn_id}"`.
        base_url: The engine's address (default: `STEPSTONE_`/`INNGEST_` `API_BASE_URL`, `BASE_URL`,
            a URL in `DEV`, then `http://127.0.0.1:8288`).
        event_api_base_url: Where events are sent (default: `EVENT_API_BASE_URL`, then as `base_url`).
        event_key: The event key (default: `EVENT_KEY`; in dev mode `NO_EVENT_KEY_SET`).
        signing_key: Signs and verifies engine traffic (default: `SIGNING_KEY`); required in production.
        signing_key_fallback: A second key accepted while rotating keys (default: `SIGNING_KEY_FALLBACK`).
        is_dev: Dev mode (no signatures checked); default: the `DEV` variable, else production mode.
        env: The branch environment name sent as `x-inngest-env` (default: `ENV`).
        app_version: A version string registered with the app.
        logger: Where the SDK logs (default: the `stepstone.sdk` logger).
        request_timeout: Timeout of calls to the engine, int milliseconds or `timedelta` (default 30 s).
        serializer: Turns outputs into JSON and back (default: `PydanticSerializer`).
        environ: Variables to read instead of the process environment (default: a copy of `os.environ`).
        transport: An httpx transport for async calls to the engine (tests route these in-process).
        sync_transport: An httpx transport for sync calls to the engine.
    """

    def __init__(
        self,
        app_id: str,
        *,
        base_url: str | None = None,
        event_api_base_url: str | None = None,
        event_key: str | None = None,
        signing_key: str | None = None,
        signing_key_fallback: str | None = None,
        is_dev: bool | None = None,
        env: str | None = None,
        app_version: str | None = None,
        logger: Logger | None = None,
        request_timeout: int | timedelta = timedelta(seconds=30),
        serializer: serialization.Serializer | None = None,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sync_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.app_id = app_id
        redaction.install()
        self.environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        self.settings = settings.resolve(
            self.environ,
            base_url=base_url,
            event_api_base_url=event_api_base_url,
            event_key=event_key,
            signing_key=signing_key,
            signing_key_fallback=signing_key_fallback,
            is_dev=is_dev,
            env=env,
        )
        self.app_version = app_version
        self.logger: Logger = logger or logging.getLogger("stepstone.sdk")
        self.serializer: serialization.Serializer = serializer or serialization.PydanticSerializer()
        timeout = request_timeout if isinstance(request_timeout, timedelta) else timedelta(milliseconds=request_timeout)
        self._timeout = timeout.total_seconds()
        self._transport = transport
        self._sync_transport = sync_transport
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncSender] = (
            weakref.WeakKeyDictionary()
        )
        self._sync_client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def is_dev(self) -> bool:
        return self.settings.is_dev

    @property
    def api_origin(self) -> str:
        return self.settings.api_origin

    @property
    def event_api_origin(self) -> str:
        return self.settings.event_api_origin

    @property
    def event_key(self) -> str | None:
        return self.settings.event_key

    @property
    def signing_key(self) -> str | None:
        return self.settings.signing_key

    @property
    def signing_key_fallback(self) -> str | None:
        return self.settings.signing_key_fallback

    @property
    def env(self) -> str | None:
        return self.settings.env

    def api_url(self, path: str) -> str:
        """An engine URL; `path` starts with `/` and is appended to the origin (a path prefix is kept)."""
        return self.api_origin + path

    def http(self) -> transport.AsyncSender:
        """The async HTTP sender for the running event loop (one per loop: HTTP clients are loop-bound).

        aiohttp by default; httpx when the client was given an httpx transport (tests route calls with it).
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            sender = self._async_clients.get(loop)
            if sender is None:
                if self._transport is not None:
                    sender = transport.HttpxSender(httpx.AsyncClient(transport=self._transport, timeout=self._timeout))
                else:
                    sender = transport.AiohttpSender(self._timeout)
                self._async_clients[loop] = sender
        return sender

    def http_sync(self) -> httpx.Client:
        """The sync HTTP client (thread-safe, shared)."""
        with self._lock:
            if self._sync_client is None:
                self._sync_client = httpx.Client(transport=self._sync_transport, timeout=self._timeout)
            return self._sync_client

    async def close_loop_http(self) -> None:
        """Close the async HTTP client of the running event loop (before a short-lived loop ends)."""
        with self._lock:
            client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    async def aclose(self) -> None:
        """Close the HTTP clients this client opened."""
        for client in list(self._async_clients.values()):
            await client.aclose()
        self._async_clients.clear()
        self.close()

    def close(self) -> None:
        """Close the sync HTTP client."""
        if self._sync_client is not None:
            self._sync_client.close()
            self._sync_client = None

    def create_function(
        self,
        *,
        fn_id: str,
        trigger: options.TriggerEvent | options.TriggerCron | list[options.TriggerEvent | options.TriggerCron],
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
    ) -> Callable[[Handler], Function]:
        """Decorate `async def fn(ctx)` or `def fn(ctx)` to make it a durable function.

        Args:
            fn_id: The function's id, unique in the app.
            trigger: What starts a run: one trigger or a list of them.
            name: A display name (default: `fn_id`).
            retries: Retries per step and for the function body (default: the engine's, 4).
            cancel: Events that cancel a run.
            timeouts: Start and finish timeouts.
            on_failure: A handler run (as function `"{id}-failure"`) when a run fails for good; it must be
                async if the function is.
            concurrency: Concurrency limits.
            throttle: Start-rate limit that queues runs.
            rate_limit: Start-rate limit that drops events.
            debounce: Debounce events.
            batch_events: Run on batches of events.
            priority: Priority expression.
            singleton: One run at a time.
            idempotency: A CEL key expression; one run per key per 24 h.
            output_type: The type of the function's return value (read back by `step.invoke`).
            nondeterminism: When a call's code departs from the run's history (a stored step not reached,
                reached as another kind or out of order): `"warn"` records a warning on the run, `"fail"`
                fails the run with a `NonDeterminismError`. Default: the engine's (`--nondeterminism`, warn).

        Returns:
            A decorator that returns the `Function`.

        Raises:
            FunctionConfigInvalidError: an option is invalid (raised when decorating).
        """

        def decorate(handler: Handler) -> Function:
            return Function(
                self,
                handler,
                fn_id=fn_id,
                trigger=trigger,
                name=name,
                retries=retries,
                cancel=cancel,
                timeouts=timeouts,
                on_failure=on_failure,
                concurrency=concurrency,
                throttle=throttle,
                rate_limit=rate_limit,
                debounce=debounce,
                batch_events=batch_events,
                priority=priority,
                singleton=singleton,
                idempotency=idempotency,
                output_type=output_type,
                nondeterminism=nondeterminism,
            )

        return decorate

    async def send(self, events: wire_events.Event | list[wire_events.Event]) -> list[str]:
        """Send one event or a list of them.

        Returns:
            The ids the engine gave the events, in order.

        Raises:
            EventKeyUnspecifiedError: production mode without an event key.
            SendEventsError: the engine refused (the error carries the ids accepted before).
        """
        return await transport.drive(sending.send_flow(self.settings, events), self.http())

    def send_sync(self, events: wire_events.Event | list[wire_events.Event]) -> list[str]:
        """Send one event or a list of them, blocking; see `send`."""
        return transport.drive_sync(sending.send_flow(self.settings, events), self.http_sync())

    async def send_signal(self, signal: str, data: object = None) -> str | None:
        """Resume the run waiting for `signal` (`step.wait_for_signal`) with `data` (any JSON).

        Returns:
            The id of the run that received it, or None when no run waits for this signal (a signal
            is not kept for a later wait: send an event when one should be).

        Raises:
            SendSignalError: the engine refused it (e.g. a wrong signing key) or could not be reached.
        """
        return await transport.drive(sending.signal_flow(self.settings, signal, data), self.http())

    def send_signal_sync(self, signal: str, data: object = None) -> str | None:
        """`send_signal`, blocking."""
        return transport.drive_sync(sending.signal_flow(self.settings, signal, data), self.http_sync())
