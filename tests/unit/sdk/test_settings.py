"""Settings: constructor arguments, then STEPSTONE_*, then INNGEST_* variables."""

from __future__ import annotations

import pytest

import stepstone
from stepstone.sdk import settings


def resolve(environ: dict[str, str], **kwargs: object) -> settings.Settings:
    return settings.resolve(environ, **kwargs)  # type: ignore[arg-type]


def test_defaults_are_production_mode_and_a_local_engine() -> None:
    s = resolve({})
    assert s.mode is settings.Mode.CLOUD
    assert (s.api_origin, s.event_api_origin) == ("http://127.0.0.1:8288", "http://127.0.0.1:8288")


@pytest.mark.parametrize(("value", "dev"), [("1", True), ("true", True), ("yes", True), ("0", False), ("false", False)])
def test_dev_variable(value: str, dev: bool) -> None:
    assert resolve({"INNGEST_DEV": value}).is_dev is dev


def test_a_dev_url_is_the_engine_address() -> None:
    s = resolve({"INNGEST_DEV": "engine.local:9999"})
    assert s.is_dev
    assert (s.api_origin, s.event_api_origin) == ("http://engine.local:9999", "http://engine.local:9999")


def test_stepstone_variables_override_their_inngest_twins() -> None:
    environ = {
        "INNGEST_SIGNING_KEY": "aa",
        "STEPSTONE_SIGNING_KEY": "bb",
        "INNGEST_DEV": "1",
        "STEPSTONE_DEV": "0",
        "INNGEST_EVENT_KEY": "inngest-ek",
        "INNGEST_BASE_URL": "https://inngest.example",
        "STEPSTONE_BASE_URL": "https://stepstone.example/",
        "INNGEST_SERVE_PATH": "/x",
    }
    s = resolve(environ)
    assert (s.signing_key, s.mode, s.event_key) == ("bb", settings.Mode.CLOUD, "inngest-ek")
    assert s.api_origin == "https://stepstone.example"
    assert s.serve_path == "/x"


def test_arguments_win_and_specific_origins_beat_the_base_url() -> None:
    environ = {
        "STEPSTONE_BASE_URL": "http://base:1",
        "STEPSTONE_EVENT_API_BASE_URL": "http://events:2",
        "STEPSTONE_SIGNING_KEY": "env",
        "STEPSTONE_DEV": "1",
    }
    s = resolve(environ)
    assert (s.api_origin, s.event_api_origin) == ("http://base:1", "http://events:2")
    s = resolve(environ, base_url="http://arg:3", signing_key="arg", is_dev=False)
    assert (s.api_origin, s.event_api_origin, s.signing_key, s.is_dev) == ("http://arg:3", "http://arg:3", "arg", False)


def test_urls_without_a_scheme_get_one_by_mode() -> None:
    assert resolve({"STEPSTONE_API_BASE_URL": "engine:1", "STEPSTONE_DEV": "1"}).api_origin == "http://engine:1"
    assert resolve({"STEPSTONE_API_BASE_URL": "engine:1"}).api_origin == "https://engine:1"


def test_the_client_reads_its_environ_copy_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPSTONE_EVENT_KEY", "from-os")
    client = stepstone.Stepstone("app")
    monkeypatch.setenv("STEPSTONE_EVENT_KEY", "changed")
    assert client.event_key == "from-os"
    assert stepstone.Stepstone("app", environ={}).event_key is None
