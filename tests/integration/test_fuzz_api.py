"""Schemathesis over `/openapi.json`: no input an OpenAPI-driven fuzzer makes up draws a 5xx.

Every operation of the document gets its examples, its coverage cases (boundaries, missing and
wrong-typed fields) and a bounded number of generated cases, with a fixed seed, so a run is
repeatable and takes well under a minute. Four engines are fuzzed: dev mode on SQLite and on
PostgreSQL, and production mode with and without `Authorization` (without it, the SDK and REST
routes must answer 401 to anything).
The engine reaches no network: a call or a sync to a made-up URL (`POST /v1/apps`) fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from starlette.types import ASGIApp

from stepstone.server.api.app import create_app
from stepstone.server.core.clock import FakeClock
from stepstone.server.core.settings import EngineSettings
from stepstone.server.engine import Engine
from stepstone.server.store.base import Store
from stepstone.server.store.postgres.store import PostgresStore
from stepstone.server.store.sqlite.store import SqliteStore
from tests import postgres
from tests.integration import scripted_app
from tests.integration.offline import NoNetwork

SIGNING_KEY = "signkey-prod-" + "ab" * 32
EVENT_KEY = "fuzz-event-key"
FUNCTION_ID = "scripted-fn"
CONFIG = {
    "seed": 11,
    "generation": {"max-examples": 40, "deterministic": True, "database": "none", "no-shrink": True},
    "suppress-health-check": ["all"],
    # Made-up keys and function ids only meet a 401 or a 404: these reach the code behind them.
    "parameters": {"event_key": EVENT_KEY, "function_id": FUNCTION_ID},
}


def engine_for(mode: str, store: Store) -> Engine:
    if mode.startswith("dev"):  # the movable dev clock, as `stepstone dev` runs it: `/dev/clock/advance` is fuzzed
        return Engine(store, EngineSettings(poll_interval=timedelta(milliseconds=50)), transport=NoNetwork())
    settings = EngineSettings(dev=False, signing_key=SIGNING_KEY, event_keys=(EVENT_KEY,))
    return Engine(store, settings, engine_clock=FakeClock(), transport=NoNetwork())


def openapi_document() -> dict[str, Any]:
    """The engine's OpenAPI document, from an engine that is never started (the document is the same for all)."""
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "stepstone.db")
        try:
            return create_app(engine_for("dev", store)).openapi()
        finally:
            asyncio.run(store.close())


# Schemathesis' pytest loader from a fixture does not run on pytest 9.2 (it sets `node._nodeid`), so the
# cases come from the document, and each case is sent to the app of the engine under test.
schema = schemathesis.openapi.from_dict(openapi_document(), config=SchemathesisConfig.from_dict(CONFIG))


@dataclass(frozen=True)
class Target:
    """The app of an engine under fuzz, and the headers every request to it carries."""

    app: ASGIApp
    headers: dict[str, str]


MODES = ["dev", pytest.param("dev-postgres", marks=pytest.mark.postgres), "production", "production-anonymous"]


@pytest.fixture(scope="module", params=MODES)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """An engine of each mode; schemathesis runs its app (and the lifespan that starts it) on its own loop."""
    mode: str = request.param
    with contextlib.ExitStack() as stack:
        if mode == "dev-postgres":  # what PostgreSQL cannot store (a NUL character) must be a 400 there too
            admin_dsn = request.getfixturevalue("postgres_admin_dsn")
            store: Store = PostgresStore(stack.enter_context(postgres.fresh_database(admin_dsn)), pool_size=4)
        else:
            store = SqliteStore(tmp_path_factory.mktemp(mode) / "stepstone.db")
        app = create_app(engine_for(mode, store), manage_engine=True, release_all_leases=True)
        auth = {"Authorization": f"Bearer {SIGNING_KEY}"}
        with asgi.get_client(app) as client:  # a function to invoke (its app is never reached)
            registration = scripted_app.registration("http://127.0.0.1:9/api/inngest")
            assert client.post("/fn/register", json=registration, headers=auth).status_code == 200
        try:
            yield Target(app, auth if mode == "production" else {})
        finally:
            asgi.shutdown_lifespans()
            asyncio.run(store.close())


@schema.parametrize()
def test_no_input_draws_a_server_error(case: schemathesis.Case, target: Target) -> None:
    case.call_and_validate(
        app=target.app,
        headers=target.headers,
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )
