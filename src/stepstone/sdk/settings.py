"""Client settings: constructor arguments first, then `STEPSTONE_*`, then `INNGEST_*` variables.

Each variable `X` is looked up as `STEPSTONE_X`, then as its twin `INNGEST_X`, so an app moved from
Inngest keeps working and a Stepstone name overrides its Inngest twin. Values come from the mapping
the client was given (a copy of `os.environ` by default); nothing here reads the process environment.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

PREFIXES = ("STEPSTONE_", "INNGEST_")

# Stepstone is self-hosted: both modes talk to a local engine unless told otherwise.
DEFAULT_ENGINE_URL = "http://127.0.0.1:8288"
DEFAULT_SERVE_PATH = "/api/inngest"


class Mode(enum.StrEnum):
    """Dev mode trusts every request; production ("cloud") mode checks signatures."""

    DEV = "dev"
    CLOUD = "cloud"


@dataclass(frozen=True)
class Settings:
    """Everything the client resolved from its arguments and environment."""

    mode: Mode
    api_origin: str
    event_api_origin: str
    event_key: str | None
    signing_key: str | None
    signing_key_fallback: str | None
    env: str | None
    serve_origin: str | None
    serve_path: str | None

    @property
    def is_dev(self) -> bool:
        return self.mode is Mode.DEV


def lookup(environ: Mapping[str, str], name: str) -> str | None:
    """`STEPSTONE_<name>`, else `INNGEST_<name>`; blank values count as unset."""
    for prefix in PREFIXES:
        value = environ.get(prefix + name, "").strip()
        if value:
            return value
    return None


def is_dev_value(value: str | None) -> bool:
    """`DEV` turns dev mode on when set to anything but "", "0" or "false"."""
    return value is not None and value.strip().lower() not in ("", "0", "false")


def normalize_url(url: str, mode: Mode) -> str:
    """Add a scheme when missing (http in dev mode, https in production) and drop a trailing slash."""
    value = url.strip()
    if "://" not in value:
        value = ("http://" if mode is Mode.DEV else "https://") + value
    return value.rstrip("/")


def _dev_url(environ: Mapping[str, str]) -> str | None:
    value = lookup(environ, "DEV")
    if value is not None and ("." in value or ":" in value):
        return value
    return None


def resolve(
    environ: Mapping[str, str],
    *,
    base_url: str | None = None,
    event_api_base_url: str | None = None,
    event_key: str | None = None,
    signing_key: str | None = None,
    signing_key_fallback: str | None = None,
    is_dev: bool | None = None,
    env: str | None = None,
) -> Settings:
    """Resolve the client's settings.

    Origins: the argument, then the specific variable (`API_BASE_URL` / `EVENT_API_BASE_URL`), then
    `BASE_URL`, then a URL given as `DEV`, then `http://127.0.0.1:8288` in both modes.
    """
    mode = _resolve_mode(environ, is_dev)
    dev_url = _dev_url(environ)
    api = base_url or lookup(environ, "API_BASE_URL") or lookup(environ, "BASE_URL") or dev_url
    events = (
        event_api_base_url
        or base_url
        or lookup(environ, "EVENT_API_BASE_URL")
        or lookup(environ, "BASE_URL")
        or dev_url
    )
    return Settings(
        mode=mode,
        api_origin=normalize_url(api or DEFAULT_ENGINE_URL, mode),
        event_api_origin=normalize_url(events or DEFAULT_ENGINE_URL, mode),
        event_key=event_key or lookup(environ, "EVENT_KEY"),
        signing_key=signing_key or lookup(environ, "SIGNING_KEY"),
        signing_key_fallback=signing_key_fallback or lookup(environ, "SIGNING_KEY_FALLBACK"),
        env=env or lookup(environ, "ENV"),
        serve_origin=lookup(environ, "SERVE_ORIGIN"),
        serve_path=lookup(environ, "SERVE_PATH"),
    )


def _resolve_mode(environ: Mapping[str, str], is_dev: bool | None) -> Mode:
    if is_dev is not None:
        return Mode.DEV if is_dev else Mode.CLOUD
    for prefix in PREFIXES:
        raw = environ.get(prefix + "DEV")
        if raw is not None and raw.strip():
            return Mode.DEV if is_dev_value(raw) else Mode.CLOUD
    return Mode.CLOUD
