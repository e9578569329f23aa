"""Registered functions: validation at sync, and the catalog that matches events to functions.

The catalog is a cache of the store's function table, rebuilt whenever the store's
functions version moves (so every engine process sees a sync made by any other).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from stepstone.protocol import config as wire
from stepstone.protocol import durations, events
from stepstone.server.core import backoff, cron, expressions
from stepstone.server.core.errors import EngineError
from stepstone.server.functions import flow_rules
from stepstone.server.store.base import Tx
from stepstone.server.store.records import FunctionRecord

MAX_TRIGGERS = 10
MAX_CANCELS = 5
MAX_NAME = 255


@dataclass(frozen=True)
class EventTrigger:
    name: str
    expression: expressions.Expression | None

    def name_matches(self, event_name: str) -> bool:
        if self.name == event_name:
            return True
        if self.name.endswith("*"):  # `app/*` and `app.user.*`: a prefix up to a `/` or `.` boundary
            prefix = self.name[:-1]
            return prefix.endswith(("/", ".")) and event_name.startswith(prefix)
        return False


@dataclass(frozen=True)
class CronTrigger:
    expression: str
    schedule: cron.CronSchedule
    jitter: timedelta


@dataclass(frozen=True)
class Registered:
    """A function ready to run: its row, its parsed config and compiled triggers."""

    record: FunctionRecord
    config: wire.FunctionConfig
    triggers: tuple[EventTrigger, ...]
    crons: tuple[CronTrigger, ...]
    max_attempts: int

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def slug(self) -> str:
        return self.record.slug

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def paused(self) -> bool:
        """Paused through the API: it starts no runs and its calls wait (`queue.queueing`)."""
        return self.record.paused_at is not None


def compile_function(record: FunctionRecord) -> Registered:
    """Parse a stored config (validated at sync) into a `Registered`."""
    config = wire.FunctionConfig.model_validate_json(record.config_json)
    triggers = []
    crons = []
    for trigger in config.triggers:
        if trigger.cron is not None:
            crons.append(CronTrigger(trigger.cron, cron.parse_cron(trigger.cron), cron.parse_jitter(trigger.jitter)))
        elif trigger.event is not None:
            compiled = expressions.compile_expression(trigger.expression) if trigger.expression else None
            triggers.append(EventTrigger(trigger.event, compiled))
    return Registered(record, config, tuple(triggers), tuple(crons), backoff.max_attempts(config.retry_count))


class Catalog:
    """The active functions at one functions version."""

    def __init__(
        self,
        functions: Iterable[Registered],
        version: int,
        app_versions: dict[str, str | None],
        app_names: dict[str, str] | None = None,
    ) -> None:
        self.version = version
        self.app_versions = app_versions
        self.app_names = app_names or {}  # app uuid -> the app's name (the SDK client's app id)
        self.functions = list(functions)
        self.by_slug = {fn.slug: fn for fn in self.functions}
        self.by_id = {fn.id: fn for fn in self.functions}
        self._exact: dict[str, list[tuple[Registered, EventTrigger]]] = {}
        self._wildcards: list[tuple[Registered, EventTrigger]] = []
        for fn in self.functions:
            for trigger in fn.triggers:
                if trigger.name.endswith("*"):
                    self._wildcards.append((fn, trigger))
                else:
                    self._exact.setdefault(trigger.name, []).append((fn, trigger))

    def get(self, slug_or_id: str) -> Registered | None:
        return self.by_slug.get(slug_or_id) or self.by_id.get(slug_or_id)

    def slug_of(self, function_id: str | None) -> str:
        """The slug of the function with this id, "" when unknown (metrics and traces label by slug)."""
        fn = self.by_id.get(function_id) if function_id else None
        return fn.slug if fn is not None else ""

    def match(self, payload: dict[str, Any]) -> list[Registered]:
        """Functions an event triggers, each once, in registration order of their triggers."""
        return self.match_filtered(payload)[0]

    def match_filtered(self, payload: dict[str, Any]) -> tuple[list[Registered], list[tuple[Registered, str]]]:
        """The functions an event triggers, and those whose trigger names it but whose `if` is false
        (each with the expression), each function once. Only triggers whose name matched are evaluated."""
        name = str(payload.get("name", ""))
        if name == events.FUNCTION_INVOKED:
            target = (payload.get("data") or {}).get("_inngest", {}).get("fn_id")
            found = self.get(str(target)) if target else None
            return ([found] if found else []), []
        candidates = self._exact.get(name, [])
        if self._wildcards:
            candidates = candidates + [pair for pair in self._wildcards if pair[1].name_matches(name)]
        matched: dict[str, Registered] = {}
        filtered: dict[str, tuple[Registered, str]] = {}
        variables = {"event": payload}
        for fn, trigger in candidates:
            if fn.slug in matched:
                continue
            if trigger.expression is None or trigger.expression.matches(variables):
                matched[fn.slug] = fn
                filtered.pop(fn.slug, None)
            elif fn.slug not in filtered:
                filtered[fn.slug] = (fn, trigger.expression.source)
        return list(matched.values()), list(filtered.values())


class Registry:
    """Keeps the catalog in step with the store; safe to call from the store's threads."""

    def __init__(self) -> None:
        self._catalog = Catalog([], -1, {})
        self._lock = threading.Lock()

    def catalog(self, tx: Tx) -> Catalog:
        version = tx.functions_version()
        with self._lock:
            if version != self._catalog.version:
                records = tx.list_functions()
                apps = tx.list_apps()
                self._catalog = Catalog(
                    (compile_function(record) for record in records),
                    version,
                    {app.id: app.app_version for app in apps},
                    {app.id: app.name for app in apps},
                )
            return self._catalog

    def last(self) -> Catalog:
        """The catalog built last (no transaction: it may lag a change another process made)."""
        return self._catalog

    def app_name(self, function_uuid: str) -> str | None:
        """The name of the app that serves a function, from the last catalog read (no transaction)."""
        catalog = self._catalog
        fn = catalog.by_id.get(function_uuid)
        return catalog.app_names.get(fn.record.app_id) if fn is not None else None


class ConfigError(EngineError, ValueError):
    """A function config broke a rule; `problems` name the function and field of each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_functions(raw: list[dict[str, Any]] | Any) -> list[wire.FunctionConfig]:
    """Validate the shape of each function; raise `ConfigError` naming the function and field."""
    if not isinstance(raw, list):
        raise ConfigError(["`functions` must be a list"])
    parsed = []
    problems = []
    for position, item in enumerate(raw):
        label = f"function {item.get('id')!r}" if isinstance(item, dict) and item.get("id") else f"function {position}"
        try:
            parsed.append(wire.FunctionConfig.model_validate(item))
        except ValidationError as err:
            for error in err.errors():
                where = ".".join(str(part) for part in error["loc"]) or "config"
                problems.append(f"{label}: {where}: {error['msg']}")
    if problems:
        raise ConfigError(problems)
    return parsed


def check_function(config: wire.FunctionConfig) -> list[str]:
    """Rules Inngest applies at sync (inngest: pkg/inngest/function.go Validate), as messages."""
    label = f"function {config.id!r}"
    problems = [f"{label}: {problem}" for problem in _problems(config)]
    return problems


def sync_warnings(functions: Iterable[wire.FunctionConfig]) -> list[str]:
    """What a sync accepts but adjusts: retries over the maximum are clamped to it, as Inngest does.

    Inngest's server clamps `retries` silently (inngest: pkg/sdk `SDKFunction.Function`, "Always
    enforce bounds", to `consts.MaxRetries`) and the official Python SDK sends any count >= 0, so
    failing the sync would refuse apps that Inngest runs; the clamp is reported instead.
    """
    warnings = []
    for config in functions:
        count = config.retry_count
        if count is not None and count > backoff.MAX_RETRIES:
            warnings.append(
                f"function {config.id!r}: retries: {count} is over the maximum of {backoff.MAX_RETRIES}; "
                f"each step gets {backoff.MAX_RETRIES} retries"
            )
    return warnings


def _problems(config: wire.FunctionConfig) -> Iterable[str]:
    if not config.id.strip():
        yield "id: must not be empty"
    if config.retry_count is not None and config.retry_count < 0:
        yield f"retries: must be 0 or more, found {config.retry_count}"
    if not config.steps:
        yield "steps: a function needs one step with a runtime URL"
    # No triggers is valid: the function runs only when invoked. The TypeScript SDK 4.x registers
    # `triggers: []` for `createFunction({id})` and for `triggers: [invoke(schema)]`
    # (inngest 4.24.0 components/InngestFunction.js `getConfigTriggers`), the Python SDK for `trigger=[]`.
    if len(config.triggers) > MAX_TRIGGERS:
        yield f"triggers: at most {MAX_TRIGGERS} triggers, found {len(config.triggers)}"
    seen: set[tuple[str | None, str | None, str | None]] = set()
    for position, trigger in enumerate(config.triggers):
        where = f"triggers[{position}]"
        signature = (trigger.event, trigger.expression, trigger.cron)
        if signature in seen:
            yield f"{where}: duplicate trigger"
        seen.add(signature)
        if trigger.event is not None:
            if not trigger.event.strip() or len(trigger.event) > MAX_NAME:
                yield f"{where}.event: must be 1 to {MAX_NAME} characters"
            if trigger.expression and (problem := expressions.problem(trigger.expression)):
                yield f"{where}.expression: {problem}"
        if trigger.cron is not None:
            try:
                cron.parse_cron(trigger.cron)
            except cron.CronError as err:
                yield f"{where}.cron: {err}"
            if problem := cron.jitter_problem(trigger.jitter):
                yield f"{where}.jitter: {problem}"
    cancels = config.cancel or []
    if len(cancels) > MAX_CANCELS:
        yield f"cancel: at most {MAX_CANCELS} entries, found {len(cancels)}"
    for position, cancel in enumerate(cancels):
        if cancel.if_exp and (problem := expressions.problem(cancel.if_exp)):
            yield f"cancel[{position}].if: {problem}"
        if cancel.timeout and (problem := _duration_problem(cancel.timeout)):
            yield f"cancel[{position}].timeout: {problem}"
    if config.timeouts is not None:
        for field_name in ("start", "finish"):
            value = getattr(config.timeouts, field_name)
            if value and (problem := _duration_problem(value)):
                yield f"timeouts.{field_name}: {problem}"
    yield from flow_rules.problems(config)


def _duration_problem(text: str) -> str | None:
    try:
        durations.parse_duration(text)
    except ValueError as err:
        return str(err)
    return None
