"""The dashboard's screenshots in docs/: `.venv/bin/python -m tests.browser.screenshots [--out docs/images]`.

Starts `stepstone dev` with the bundled example app (`--app examples.app:app`, retries 0.2 s apart) on a fresh
database, makes a few runs through the event API (an order that charged its card and now sleeps, its receipt,
five steps that completed, an order whose charge failed on every attempt, and a rerun), opens each page in
Chromium (/usr/bin/chromium through Playwright, as the browser tests do) at 1280x800 and writes
`dashboard-<page>.png`. The login page comes from a production engine with a dashboard password
(`tests/browser/production.py`). Not part of the test run: the tree changes only when this is run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import CHROMIUM
from tests.browser.production import ProductionEngine
from tests.harness import free_socket

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT: Any = {"width": 1280, "height": 800}  # Playwright's ViewportSize
ENGINE = str(Path(sys.executable).parent / "stepstone")


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            value = check()
            if value:
                return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def port() -> int:
    sock = free_socket()
    number: int = sock.getsockname()[1]
    sock.close()
    return number


@contextlib.contextmanager
def dev_engine(work: Path) -> Iterator[httpx.Client]:
    """`stepstone dev` with the example app, in its own session; stopped (the app with it) on the way out."""
    engine_port, app_port = port(), port()
    command = [ENGINE, "dev", "--port", str(engine_port), "--db", str(work / "dev.db"), "--app", "examples.app:app"]
    command += ["--app-port", str(app_port), "--retry-interval", "0.2", "--log-level", "warning"]
    log = (work / "engine.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{engine_port}", timeout=10)
    try:
        wait_for(lambda: len(client.get("/v1/functions").json()["data"]) >= 4, "the example app to sync")
        yield client
    finally:
        client.close()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
        log.close()


def send(client: httpx.Client, name: str, data: dict[str, Any]) -> str:
    answer = client.post("/e/dev", json={"name": name, "data": data})
    answer.raise_for_status()
    event_id: str = answer.json()["ids"][0]
    return event_id


def run_of(client: httpx.Client, event_id: str, *statuses: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        runs = client.get(f"/v1/events/{event_id}/runs").json()["data"]
        return runs[0] if runs and runs[0]["status"] in statuses else None

    found: dict[str, Any] = wait_for(check, f"a run of {event_id} {'/'.join(statuses)}")
    return found


def sleeping(client: httpx.Client, run_id: str) -> bool:
    steps = client.get(f"/v1/runs/{run_id}").json()["data"]["steps"]
    return any(step["status"] == "Sleeping" for step in steps)


def make_runs(client: httpx.Client) -> dict[str, str]:
    """The runs the pages show; returns the ids the page URLs need."""
    steps = run_of(client, send(client, "example/steps", {"count": 5}), "Completed")
    order = send(client, "shop/order.placed", {"order_id": "A-1001", "amount": 42})
    sleeper = run_of(client, order, "Running")
    wait_for(lambda: sleeping(client, sleeper["run_id"]), "the order's run to sleep")
    failing = send(client, "shop/order.placed", {"order_id": "A-1002", "amount": "forty-two"})
    failed = run_of(client, failing, "Failed")
    client.post(f"/v1/runs/{steps['run_id']}/rerun", json={}).raise_for_status()
    client.post("/v1/functions/example-steps/invoke", json={"data": {"count": 3}}).raise_for_status()
    for verb in ("pause", "resume"):  # audited actions for the Audit page
        client.post(f"/v1/functions/example-nightly-report/{verb}", json={}).raise_for_status()
    return {"order_run": sleeper["run_id"], "failed_run": failed["run_id"], "order_event": order}


def shoot(browser: Any, base_url: str, pages: dict[str, str], out: Path) -> None:
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, color_scheme="light")
    tab = context.new_page()
    for name, path in pages.items():
        tab.goto(path)
        tab.wait_for_selector("main h1")
        tab.wait_for_load_state("networkidle")
        if name == "run-failed":
            tab.get_by_role("button", name="charge-card").first.click()
            tab.wait_for_selector("#step-panel")
            tab.evaluate("window.scrollTo(0, document.getElementById('step-panel').offsetTop - 16)")
        if name == "function-activity":
            tab.wait_for_selector(".activity .chart")
            tab.evaluate("window.scrollTo(0, document.querySelector('.activity').offsetTop - 16)")
        tab.screenshot(path=str(out / f"dashboard-{name}.png"))
        print(f"wrote {out / f'dashboard-{name}.png'}")
    context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.browser.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="where the PNGs go")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="stepstone-screenshots-") as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        with dev_engine(Path(tmp)) as client:
            ids = make_runs(client)
            pages = {
                "runs": "/runs",
                "run": f"/runs/{ids['order_run']}",
                "run-failed": f"/runs/{ids['failed_run']}",
                "apps": "/apps",
                "functions": "/functions",
                "function": "/functions/example-process-order",
                "events": "/events",
                "event": f"/events/{ids['order_event']}",
                "audit": "/audit",
                "metrics": "/overview",
                "function-activity": "/functions/example-process-order",
            }
            shoot(browser, str(client.base_url).rstrip("/"), pages, args.out)
        production = ProductionEngine(Path(tmp))
        production.start()
        try:
            context = browser.new_context(base_url=production.url, viewport=VIEWPORT)
            tab = context.new_page()
            tab.goto("/login")
            tab.wait_for_load_state("networkidle")
            tab.screenshot(path=str(args.out / "dashboard-login.png"))
            print(f"wrote {args.out / 'dashboard-login.png'}")
            context.close()
        finally:
            production.stop()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
