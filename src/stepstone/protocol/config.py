"""Registration ("sync"): the app and function configuration SDKs send to `POST /fn/register`.

Field names are the wire's (camelCase where Inngest uses it); Python attributes are snake_case.
The models are lenient on input, as the engine must accept both official SDKs: the Python SDK
writes `appname` and `deploy_type`, the TypeScript SDK `appName` and `deployType`, and its
`concurrency` may be a number, an object or a list.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

_LENIENT = ConfigDict(extra="ignore", populate_by_name=True)


class TriggerConfig(BaseModel):
    """One trigger: an event name (with an optional CEL `expression`) or a cron schedule."""

    model_config = _LENIENT

    event: str | None = None
    expression: str | None = None
    cron: str | None = None
    jitter: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> TriggerConfig:
        if (self.event is None) == (self.cron is None):
            raise ValueError("a trigger has either `event` or `cron`, not both or neither")
        return self


class RuntimeConfig(BaseModel):
    model_config = _LENIENT

    type: str = "http"
    url: str


class RetriesConfig(BaseModel):
    model_config = _LENIENT

    attempts: int


class StepConfig(BaseModel):
    model_config = _LENIENT

    id: str = "step"
    name: str = "step"
    runtime: RuntimeConfig
    retries: RetriesConfig | None = None


class ConcurrencyConfig(BaseModel):
    model_config = _LENIENT

    limit: int
    key: str | None = None
    scope: Literal["fn", "env", "account"] | None = None


class ThrottleConfig(BaseModel):
    model_config = _LENIENT

    limit: int
    period: str
    burst: int | None = None
    key: str | None = None


class RateLimitConfig(BaseModel):
    model_config = _LENIENT

    limit: int
    period: str
    key: str | None = None


class DebounceConfig(BaseModel):
    model_config = _LENIENT

    period: str
    key: str | None = None
    timeout: str | None = None


class BatchConfig(BaseModel):
    model_config = _LENIENT

    max_size: int = Field(alias="maxSize")
    timeout: str | None = None
    key: str | None = None
    if_exp: str | None = Field(default=None, alias="if")


class CancelConfig(BaseModel):
    model_config = _LENIENT

    event: str
    if_exp: str | None = Field(default=None, alias="if")
    timeout: str | None = None


class PriorityConfig(BaseModel):
    model_config = _LENIENT

    run: str | None = None


class TimeoutsConfig(BaseModel):
    model_config = _LENIENT

    start: str | None = None
    finish: str | None = None


class SingletonConfig(BaseModel):
    model_config = _LENIENT

    mode: Literal["skip", "cancel"]
    key: str | None = None


class FunctionConfig(BaseModel):
    """One function as registered. `id` is the composite slug `<app id>-<function id>`."""

    model_config = _LENIENT

    id: str
    name: str = ""
    triggers: list[TriggerConfig] = Field(default_factory=list)
    steps: dict[str, StepConfig]
    retries: int | None = None
    concurrency: list[ConcurrencyConfig] | None = None
    batch_events: BatchConfig | None = Field(default=None, alias="batchEvents")
    rate_limit: RateLimitConfig | None = Field(default=None, alias="rateLimit")
    throttle: ThrottleConfig | None = None
    debounce: DebounceConfig | None = None
    priority: PriorityConfig | None = None
    cancel: list[CancelConfig] | None = None
    idempotency: str | None = None
    timeouts: TimeoutsConfig | None = None
    singleton: SingletonConfig | None = None
    # Stepstone only: "warn" or "fail" when a run's code departs from its history (None: the engine's default).
    nondeterminism: Literal["warn", "fail"] | None = None

    @field_validator("concurrency", mode="before")
    @classmethod
    def _concurrency_shapes(cls, value: object) -> object:
        if value is None or isinstance(value, list):
            return value
        if isinstance(value, bool):
            raise ValueError("`concurrency` must be a number, an object or a list")
        if isinstance(value, int):
            return [{"limit": value}]
        if isinstance(value, dict) and ("fn" in value or "step" in value) and "limit" not in value:
            step_limits = value.get("step") or []
            return step_limits if isinstance(step_limits, list) else [step_limits]
        return [value]

    @property
    def step(self) -> StepConfig:
        """The function's single registered step (`steps["step"]`, else the first)."""
        return self.steps.get("step") or next(iter(self.steps.values()))

    @property
    def url(self) -> str:
        return self.step.runtime.url

    @property
    def retry_count(self) -> int | None:
        """Retries as configured (`steps.step.retries.attempts`, else top-level `retries`)."""
        if self.step.retries is not None:
            return self.step.retries.attempts
        return self.retries

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RegisterRequest(BaseModel):
    """The body of `POST /fn/register`."""

    model_config = _LENIENT

    url: str
    app_name: str = Field(
        validation_alias=AliasChoices("appName", "appname", "app_name"), serialization_alias="appName"
    )
    sdk: str = ""
    framework: str | None = None
    app_version: str | None = Field(
        default=None, validation_alias=AliasChoices("appVersion", "app_version"), serialization_alias="appVersion"
    )
    v: str = "0.1"
    deploy_type: str | None = Field(
        default=None, validation_alias=AliasChoices("deployType", "deploy_type"), serialization_alias="deployType"
    )
    capabilities: dict[str, Any] | None = None
    functions: list[FunctionConfig] = Field(default_factory=list)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RegisterResponse(BaseModel):
    ok: bool = True
    modified: bool = True
    app_id: str
    sync_id: str


# A function's failure handler is registered as a separate function with this suffix.
FAILURE_SUFFIX = "-failure"
