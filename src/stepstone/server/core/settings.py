"""Engine settings: one object built by the CLI (or a test) and handed to every component."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from stepstone.server.core.passwords import DashboardPassword

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Inngest's open-source limits (inngest: pkg/consts/consts.go), each configurable."""

    max_event_bytes: int = 3 * MIB
    max_events_per_request: int = 5000
    max_request_bytes: int = 256 * MIB
    max_step_output_bytes: int = 4 * MIB
    max_run_state_bytes: int = 32 * MIB
    max_steps_per_run: int = 1000
    max_sleep: timedelta = timedelta(days=366)
    max_call_body_bytes: int = 4 * MIB - 1024  # above this, a call sends no memos and sets use_api
    max_response_bytes: int = 8 * MIB
    idempotency_period: timedelta = timedelta(hours=24)
    default_invoke_timeout: timedelta = timedelta(days=365)
    default_cancel_timeout: timedelta = timedelta(days=365)


@dataclass(frozen=True)
class EngineSettings:
    """How an engine behaves. Durations of leases and polls are real (OS) time."""

    dev: bool = True
    signing_key: str | None = None
    signing_key_fallback: str | None = None
    event_keys: tuple[str, ...] = ()
    retry_interval: timedelta | None = None  # a fixed retry delay instead of Inngest's backoff table
    workers: int = 64  # app calls in flight per engine process
    app_concurrency: int = 32  # app calls in flight per app
    lease: timedelta = timedelta(seconds=30)
    poll_interval: timedelta = timedelta(seconds=1)
    app_request_timeout: timedelta = timedelta(hours=2)
    sync_poll_interval: timedelta = timedelta(seconds=5)
    sync_urls: tuple[str, ...] = ()
    # dev: the local ports scanned for apps while none is registered (apps.discovery); empty: no scan
    discovery_ports: tuple[int, ...] = ()
    drain_timeout: timedelta = timedelta(seconds=30)
    retention: timedelta | None = timedelta(days=30)  # None keeps everything
    retention_interval: timedelta = timedelta(minutes=10)
    # A run whose code departs from its history: "warn" (a run warning) or "fail"; functions may say otherwise
    nondeterminism: str = "warn"
    search_limit: int = 5_000  # runs a `GET /v1/runs?if=` search scans at most, unless the request says
    limits: Limits = field(default_factory=Limits)
    dashboard: bool = True  # the browser dashboard at `/` (api.dashboard); off: `/` is a 404
    # `start`: the dashboard's login (None: the dashboard is off); `dev` needs no login
    dashboard_password: DashboardPassword | None = None
    metrics: bool = True  # Prometheus metrics at `/metrics` (server.core.metrics)
    metrics_public: bool = False  # `start`: serve `/metrics` without the API's Bearer key
    trace_url: str | None = None  # a trace viewer's URL with `{trace_id}`, linked from the dashboard

    @property
    def server_kind(self) -> str:
        return "dev" if self.dev else "cloud"

    @property
    def signing_keys(self) -> tuple[str, ...]:
        return tuple(key for key in (self.signing_key, self.signing_key_fallback) if key)
