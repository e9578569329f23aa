"""Syncs: several apps synced at once, several syncs of one app at once, and a re-sync that drops functions.

Two apps of one SDK (same function ids, different app ids) share an engine that syncs them with
`-u`; the test adds its own PUTs (what `stepstone dev -u` and Inngest's dev server send) all at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.compat.stack import FUNCTION_COUNTS, PYTHON, TYPESCRIPT, App, Engine, wait_until

pytestmark = pytest.mark.slow
compat = pytest.mark.compat


class Fleet:
    def __init__(self, tmp: Path, sdk: str) -> None:
        self.tmp = tmp
        self.sdk = sdk
        self.engine = Engine(tmp)
        self.apps = [App(sdk, tmp, self.engine, app_id=f"fleet-{n}") for n in (1, 2)]

    def logs(self) -> list[Path]:
        return [self.engine.log, *(app.log for app in self.apps)]

    def restart(self, index: int, **env: str) -> App:
        """Stop an app and start it again on the same port (a deploy), with other settings."""
        old = self.apps[index]
        old.stop()
        self.apps[index] = App(self.sdk, self.tmp, self.engine, app_id=old.app_id, port=old.port, **env)
        self.apps[index].start()
        return self.apps[index]


@pytest.fixture(scope="module", params=[PYTHON, TYPESCRIPT])
def sdk(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def fleet(request: pytest.FixtureRequest, sdk: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if sdk != PYTHON:
        request.getfixturevalue("ts_sdk")
    fleet = Fleet(tmp_path_factory.mktemp(f"syncs-{sdk}"), sdk)
    try:
        fleet.engine.start(*(app.url for app in fleet.apps))
        for app in fleet.apps:
            app.start()
        yield fleet
    finally:
        fleet.engine.stop()
        for app in fleet.apps:
            app.stop()


@compat("Syncs", "several apps, each synced several times at once, keep their own functions")
def test_concurrent_syncs_do_not_clobber(fleet: Fleet) -> None:
    def put(url: str) -> int:
        return httpx.put(url, json={"url": url}, headers={"x-inngest-server-kind": "dev"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(put, [app.url for app in fleet.apps] * 6))
    assert statuses == [200] * 12
    for app in fleet.apps:
        synced = fleet.engine.wait_synced(app.app_id, FUNCTION_COUNTS[fleet.sdk])
        assert synced["url"] == app.url
    functions = fleet.engine.functions()
    for app in fleet.apps:
        mine = [fn for fn in functions.values() if fn["app"] == app.app_id]
        assert len(mine) == FUNCTION_COUNTS[fleet.sdk]
        assert all(fn["config"]["steps"]["step"]["runtime"]["url"].startswith(app.url) for fn in mine)
    event_id = fleet.apps[0].send({"name": "compat/child", "data": {"n": 5}})[0]
    runs = wait_until(
        lambda: (r := fleet.engine.runs_of_event(event_id)) and all(x["status"] == "Completed" for x in r) and r,
        what="both apps' runs",
    )
    assert sorted((r["function_id"], r["output"]) for r in runs) == [
        ("fleet-1-child", {"doubled": 10}),
        ("fleet-2-child", {"doubled": 10}),
    ]


@compat("Syncs", "a re-sync without a function archives it: it stops triggering")
def test_a_resync_drops_removed_functions(fleet: Fleet) -> None:
    fleet.engine.wait_synced("fleet-1", FUNCTION_COUNTS[fleet.sdk])
    app = fleet.restart(0, COMPAT_FUNCTIONS="multi-step,fanned")
    fleet.engine.wait_synced("fleet-1", 2)  # `-u` re-syncs the app once it is back
    archived = fleet.engine.get("/v1/functions", include_archived="true")["data"]
    assert {fn["id"] for fn in archived if fn["archived"]} >= {"fleet-1-child", "fleet-1-doomed-failure"}
    event_id = app.send({"name": "compat/child", "data": {"n": 1, "token": uuid.uuid4().hex}})[0]
    run = fleet.engine.wait_run(event_id)
    assert run["function_id"] == "fleet-2-child"
    assert [r["function_id"] for r in fleet.engine.runs_of_event(event_id)] == ["fleet-2-child"]
