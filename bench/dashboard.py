"""The dashboard's reads on a big history: 100,000 runs and 1,000,000 steps, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.dashboard                    # both stores; bench/results/dashboard.md
    .venv/bin/python -m bench.dashboard --store sqlite     # one store
    .venv/bin/python -m bench.dashboard --runs 200 --steps 2000 --repeat 3 --out /tmp/d.md   # a smoke run

For each store: the engine syncs `bench.dashboard_app` into a fresh store (so apps and functions are the
engine's own rows), the history is written straight into the tables (`bench.dashboard_fill`), then the
engine starts again on it (`stepstone dev`, uvicorn, `--retention-days 0` so that the history stays as it
was written) and every request the dashboard makes to show its pages is timed over loopback HTTP: from just
before the request is sent to the last byte of the answer read, on one keep-alive connection, the probes in
turn, `--repeat` rounds after three warm-up rounds. Target: under 300 ms (p95) each.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import dashboard_app, dashboard_fill, postgres, procs
from bench.stepstone_workload import engine_command, sqlite_flags

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_S = 0.300
WARM_ROUNDS = 3
SYNCED_FUNCTIONS = len(dashboard_app.FUNCTIONS)


@dataclass(frozen=True)
class Probe:
    """One request the dashboard makes; `needs` is a query parameter of `GET /v1/runs` it depends on."""

    name: str
    page: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    needs: str | None = None


@dataclass
class Timing:
    probe: Probe
    seconds: list[float] = field(default_factory=list)
    rows: int | None = None
    kilobytes: float = 0.0
    note: str = ""
    skipped: str | None = None  # why it was not measured


@dataclass
class StoreResult:
    store: str
    filled: dashboard_fill.Filled | None = None
    timings: list[Timing] = field(default_factory=list)
    pages: list[PageLoad] = field(default_factory=list)
    db_size_mb: float | None = None
    error: str | None = None


def iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def probes(filled: dashboard_fill.Filled, now: int) -> list[Probe]:
    """What the pages load: the runs table (its filters and the change feed), a run, functions, events, metrics."""
    day = timedelta(days=1) // timedelta(milliseconds=1)
    window = {"started_after": iso(now - 11 * day), "started_before": iso(now - 10 * day)}
    return [
        Probe("runs, newest 50", "Runs", "/v1/runs", {"limit": "50"}),
        Probe("runs, status Failed", "Runs", "/v1/runs", {"limit": "50", "status": "Failed"}),
        Probe("runs, status Queued (each says why)", "Runs", "/v1/runs", {"limit": "50", "status": "Queued"}),
        Probe("runs, one function", "Runs", "/v1/runs", {"limit": "50", "function_id": "shop-import-catalog"}),
        Probe(
            "runs, function + status Failed",
            "Runs",
            "/v1/runs",
            {"limit": "50", "function_id": "shop-send-receipt", "status": "Failed"},
        ),
        Probe("runs, one app", "Runs", "/v1/runs", {"limit": "50", "app_id": "mailer"}, needs="app_id"),
        Probe("runs, a day 10 days ago", "Runs", "/v1/runs", {"limit": "50", **window}, needs="started_after"),
        Probe(
            "runs, `if` matching often",
            "Runs",
            "/v1/runs",
            {"limit": "50", "if": 'event.data.account_id == "a-1"'},
            needs="if",
        ),
        Probe(
            "runs, `if` matching nothing (scans to the limit)",
            "Runs",
            "/v1/runs",
            {"limit": "50", "if": 'event.data.account_id == "nobody"'},
            needs="if",
        ),
        Probe("change feed poll, at the head", "Runs", "/v1/runs", {"limit": "50", "updated_after": filled.feed_head}),
        Probe("change feed, from the start", "Runs", "/v1/runs", {"limit": "50", "updated_after": "0"}),
        Probe(f"run of {filled.big_steps:,} steps", "Run", f"/v1/runs/{filled.big_run}"),
        Probe("a failed run (attempts, traceback)", "Run", f"/v1/runs/{filled.failed_run}"),
        Probe("functions (with 24 h stats)", "Functions", "/v1/functions"),
        Probe("one function", "Function", "/v1/functions/shop-process-order", needs="/v1/functions/{function_id}"),
        Probe("function's recent runs", "Function", "/v1/runs", {"limit": "20", "function_id": "shop-process-order"}),
        Probe("apps", "Apps", "/v1/apps"),
        Probe("events, newest 50", "Events", "/v1/events", {"limit": "50"}),
        Probe("an event", "Event", f"/v1/events/{filled.sample_event}"),
        Probe("an event's runs and skips", "Event", f"/v1/events/{filled.sample_event}/runs"),
        Probe("engine info", "every page", "/v1/info", needs="/v1/info"),
        Probe("metrics, last hour", "Metrics", "/v1/stats", {"window": "1h"}, needs="/v1/stats"),
        Probe("metrics, last day", "Metrics", "/v1/stats", {"window": "24h"}, needs="/v1/stats"),
        Probe(
            "function's activity, last day",
            "Function",
            "/v1/stats",
            {"window": "24h", "function_id": "shop-process-order"},
            needs="/v1/stats",
        ),
    ]


def available(client: httpx.Client) -> set[str]:
    """The query parameters of `GET /v1/runs` and the paths this engine serves (its OpenAPI document)."""
    document = client.get("/openapi.json").json()
    found = set(document["paths"])
    for parameter in document["paths"]["/v1/runs"]["get"].get("parameters", []):
        found.add(parameter["name"])
    return found


def measure(base_url: str, plan: list[Probe], repeat: int) -> list[Timing]:
    """Time every probe `repeat` times, in turns, after `WARM_ROUNDS` untimed rounds."""
    with httpx.Client(base_url=base_url, timeout=120.0) as client:
        known = available(client)
        timings = [Timing(probe) for probe in plan]
        live = [timing for timing in timings if timing.probe.needs is None or timing.probe.needs in known]
        for timing in timings:
            if timing not in live:
                timing.skipped = f"this build has no `{timing.probe.needs}`"
        for round_ in range(WARM_ROUNDS + repeat):
            for timing in live:
                if timing.skipped:
                    continue
                started = time.perf_counter()
                answer = client.get(timing.probe.path, params=timing.probe.params)
                seconds = time.perf_counter() - started
                if answer.status_code != 200:
                    timing.skipped = f"answered {answer.status_code}: {answer.text[:200]}"
                    continue
                if round_ >= WARM_ROUNDS:
                    timing.seconds.append(seconds)
                if round_ == 0:
                    describe(timing, answer)
        return timings


def describe(timing: Timing, answer: httpx.Response) -> None:
    """Rows and size of the answer, and what a search says about its scan."""
    timing.kilobytes = len(answer.content) / 1024
    body: Any = answer.json()
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list):
        timing.rows = len(data)
    elif isinstance(data, dict) and isinstance(data.get("steps"), list):
        timing.rows = len(data["steps"])
    search = body.get("search") if isinstance(body, dict) else None
    if isinstance(search, dict):
        stopped = ", stopped at the limit" if search.get("stopped") else ""
        timing.note = f"scanned {search.get('scanned'):,} of at most {search.get('limit'):,}{stopped}"


# -- whole pages ---------------------------------------------------------------------------------------------------

FEED_PAGE = 500  # the Runs page follows the change feed in pages of 500 (static/pages/runs.js)


@dataclass
class PageLoad:
    """Every request a page makes when opened, in the order the dashboard's code makes them (one at a time
    here; the browser overlaps some), timed as a whole; `requests` and `megabytes` of the first load."""

    name: str
    seconds: list[float] = field(default_factory=list)
    requests: int = 0
    megabytes: float = 0.0
    note: str = ""


class Opener:
    """Opens the dashboard's pages through the REST API as `static/pages/*.js` does."""

    def __init__(self, client: httpx.Client, feed_start: str = "now") -> None:
        self.client = client
        self.feed_start = feed_start
        self.requests = 0
        self.bytes = 0
        self.feed_requests = 0

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        answer = self.client.get(path, params=params)
        if not (answer.status_code == 404 and path == "/v1/info"):  # asked quietly; older engines lack it
            answer.raise_for_status()
        self.requests += 1
        self.bytes += len(answer.content)
        return answer.json()

    def run_rows(self, runs: list[dict[str, Any]]) -> None:
        """A table of runs asks for each trigger event whose name the answer lacks, once (`pages/runtable.js`)."""
        unnamed = [run for run in runs if run.get("event_id") and not run.get("cron") and not run.get("event_name")]
        for event_id in dict.fromkeys(run["event_id"] for run in unnamed):
            self.get(f"/v1/events/{event_id}")

    def runs_page(self) -> None:
        self.get("/v1/info")
        self.get("/v1/functions")
        self.get("/v1/apps")
        feed = self.get("/v1/runs", {"updated_after": self.feed_start, "limit": FEED_PAGE})["cursor"]
        self.run_rows(self.get("/v1/runs", {"limit": 50})["data"])
        while True:  # the live table's first poll; from `0` (before `updated_after=now`) it read up to the end
            answer = self.get("/v1/runs", {"updated_after": feed, "limit": FEED_PAGE})
            self.feed_requests += 1
            feed = answer["cursor"]
            if len(answer["data"]) < FEED_PAGE:
                return

    def runs_page_from_start(self) -> None:
        self.feed_start = "0"
        self.runs_page()

    def run_page(self, run_id: str) -> None:
        self.get("/v1/info")
        self.get(f"/v1/runs/{run_id}")

    def function_page(self, function_id: str) -> None:
        self.get("/v1/info")
        self.get("/v1/functions", {"include_archived": "true"})
        self.run_rows(self.get("/v1/runs", {"function_id": function_id, "limit": 20})["data"])

    def functions_page(self) -> None:
        self.get("/v1/info")
        self.get("/v1/functions")

    def apps_page(self) -> None:
        self.get("/v1/info")
        self.get("/v1/apps")
        self.get("/v1/functions")

    def events_page(self) -> None:
        self.get("/v1/info")
        self.get("/v1/events", {"limit": 50})

    def event_page(self, event_id: str) -> None:
        self.get("/v1/info")
        self.get(f"/v1/events/{event_id}")
        self.run_rows(self.get(f"/v1/events/{event_id}/runs")["data"])


def measure_pages(base_url: str, filled: dashboard_fill.Filled, repeat: int) -> list[PageLoad]:
    """Open each page `repeat` times (after one untimed opening) with a fresh client each time."""
    pages: dict[str, Callable[[Opener], None]] = {
        "Runs (`/`)": Opener.runs_page,
        "Runs (`/`), the feed read from `0` (the page before `updated_after=now`)": Opener.runs_page_from_start,
        f"Run of {filled.big_steps:,} steps": lambda opener: opener.run_page(filled.big_run),
        "Function": lambda opener: opener.function_page("shop-process-order"),
        "Functions": Opener.functions_page,
        "Apps": Opener.apps_page,
        "Events": Opener.events_page,
        "Event": lambda opener: opener.event_page(filled.sample_event),
    }
    loads = []
    for name, open_page in pages.items():
        load = PageLoad(name)
        for attempt in range(repeat + 1):
            with httpx.Client(base_url=base_url, timeout=120.0) as client:
                opener = Opener(client)
                started = time.perf_counter()
                try:
                    open_page(opener)
                except httpx.HTTPStatusError as err:
                    load.note = f"{err.request.url.path} answered {err.response.status_code}"
                    break
                if attempt:
                    load.seconds.append(time.perf_counter() - started)
                else:
                    load.requests, load.megabytes = opener.requests, opener.bytes / 2**20
                    if opener.feed_requests > 1:
                        load.note = f"{opener.feed_requests + 1} of them read the change feed"
        loads.append(load)
    return loads


# -- stores ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    name: str
    flags: list[str]
    writer: Callable[[], dashboard_fill.Writer]
    size_mb: Callable[[], float | None]


@contextlib.contextmanager
def store(name: str, work_dir: Path) -> Iterator[Store]:
    """A fresh, empty store: a SQLite file in `work_dir`, or a new PostgreSQL database (dropped afterwards)."""
    if name == "sqlite":
        path = work_dir / "dashboard.db"

        def sqlite_size() -> float:
            return sum(file.stat().st_size for file in work_dir.glob("dashboard.db*")) / 2**20

        yield Store(name, sqlite_flags(path, "normal"), lambda: dashboard_fill.SqliteWriter(path), sqlite_size)
        return
    with postgres.database(postgres.server_dsn()) as dsn:

        def pg_size() -> float | None:
            import psycopg

            with psycopg.connect(dsn) as conn:
                row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            return int(row[0]) / 2**20 if row else None

        yield Store(name, ["--postgres-uri", dsn], lambda: dashboard_fill.PostgresWriter(dsn), pg_size)


def sync_app(group: procs.Processes, setup: Store, env: dict[str, str]) -> None:
    """Let the engine make the schema and register `bench.dashboard_app`'s functions, then stop both."""
    app_port, engine_port = procs.free_port(), procs.free_port()
    engine_url = f"http://127.0.0.1:{engine_port}"
    command = [*procs.uvicorn_command("bench.dashboard_app:build_app", app_port), "--factory"]
    app = group.start(f"app-{setup.name}", command, env={"STEPSTONE_DEV": engine_url})
    urls = [f"http://127.0.0.1:{app_port}/api/{name}" for name in ("shop", "mailer")]
    log = group.log_of(f"app-{setup.name}")
    procs.wait_until(procs.answers(urls[0]), process=app, what="the dashboard app", log=log)
    engine = group.start(
        f"sync-{setup.name}", [*engine_command("sync", engine_port, urls[0], setup.flags), "-u", urls[1]], env=env
    )

    def synced() -> bool:
        return len(httpx.get(f"{engine_url}/v1/functions", timeout=5).json()["data"]) >= SYNCED_FUNCTIONS

    procs.wait_until(synced, process=engine, what="the engine (sync)", log=group.log_of(f"sync-{setup.name}"))
    group.stop(engine)
    group.stop(app)


def measure_store(name: str, args: argparse.Namespace, work_dir: Path, group: procs.Processes) -> StoreResult:
    result = StoreResult(name)
    scale = dashboard_fill.Scale(runs=args.runs, steps=args.steps, big_run_steps=min(1000, args.steps // 10))
    with store(name, work_dir) as setup:
        procs.progress(f"{name}: syncing the app into a fresh store")
        env = {"PYTHONPATH": str(args.engine_src.resolve())} if args.engine_src else {}
        sync_app(group, setup, env)
        procs.progress(f"{name}: writing {scale.runs:,} runs and {scale.steps:,} steps")
        now = int(time.time() * 1000)
        result.filled = dashboard_fill.fill(setup.writer(), scale, now)
        result.db_size_mb = setup.size_mb()
        port = procs.free_port()
        command = [
            *procs.engine_command(name, {}),
            "dev",
            "--port",
            str(port),
            *setup.flags,
            "--retention-days",
            "0",
            "--log-level",
            "warning",
        ]
        engine = group.start(f"engine-{name}", command, env=env)
        base = f"http://127.0.0.1:{port}"
        procs.wait_until(
            procs.answers(f"{base}/v1/apps"), process=engine, what="the engine", log=group.log_of(f"engine-{name}")
        )
        procs.progress(f"{name}: timing {args.repeat} rounds of the dashboard's requests")
        result.timings = measure(base, probes(result.filled, now), args.repeat)
        procs.progress(f"{name}: opening each page {args.page_repeat} times")
        result.pages = measure_pages(base, result.filled, args.page_repeat)
        group.stop(engine)
    return result


# -- report ------------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def render(
    results: list[StoreResult], args: argparse.Namespace, command: str, elapsed: float, busy: float | None = None
) -> str:
    load = f" The machine's CPU was {busy:.0%} busy just before (other load skews every figure)." if busy else ""
    lines = [
        "# Dashboard reads on a big history",
        "",
        f"`{command}` at {revision()} — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min.{load} "
        f"{args.runs:,} runs and {args.steps:,} steps over 30 days per store; each request timed {args.repeat} "
        f"times after {WARM_ROUNDS} warm-up rounds, from sending it to reading the last byte, over loopback on "
        f"one keep-alive connection. Target: p95 under {TARGET_S * 1000:.0f} ms. See `bench/README.md`.",
        "",
    ]
    for result in results:
        lines += render_store(result)
    return "\n".join(lines) + "\n"


def revision() -> str:
    """The checkout's commit (with `+` when it has changes), as the report names what it measured."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=procs.ROOT)
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True, text=True, cwd=procs.ROOT)
    except OSError:
        return "an unknown revision"
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def render_store(result: StoreResult) -> list[str]:
    lines = [f"## {'SQLite' if result.store == 'sqlite' else 'PostgreSQL'}", ""]
    if result.error:
        return [*lines, f"Failed: {result.error}", ""]
    filled = result.filled
    if filled is not None:
        counts = ", ".join(f"{count:,} {table}" for table, count in filled.counts.items() if count)
        size = f"; {result.db_size_mb:,.0f} MB on disk" if result.db_size_mb else ""
        lines += [f"Filled in {filled.seconds:.0f} s: {counts}{size}.", ""]
    lines += [
        "| page | request | p50 ms | p95 ms | max ms | rows | KB | p95 < 300 ms | note |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for timing in result.timings:
        probe = timing.probe
        query = "&".join(f"{key}={value}" for key, value in probe.params.items())
        request = f"`GET {probe.path}{'?' + query if query else ''}`"
        if timing.skipped or not timing.seconds:
            lines.append(f"| {probe.page} | {probe.name}: {request} | | | | | | — | {timing.skipped or ''} |")
            continue
        p50, p95 = statistics.median(timing.seconds) * 1000, percentile(timing.seconds, 0.95) * 1000
        met = "met" if p95 < TARGET_S * 1000 else "**not met**"
        rows = "" if timing.rows is None else f"{timing.rows:,}"
        lines.append(
            f"| {probe.page} | {probe.name}: {request} | {p50:.1f} | {p95:.1f} | {max(timing.seconds) * 1000:.1f} "
            f"| {rows} | {timing.kilobytes:,.1f} | {met} | {timing.note} |"
        )
    lines += [
        "",
        "Whole pages: every request a page makes when it is opened, as `static/pages/*.js` makes them, one after "
        "another on a new connection (the browser overlaps some of them, so it takes less):",
        "",
        "| page | requests | MB | p50 ms | max ms | note |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for load in result.pages:
        if not load.seconds:
            lines.append(f"| {load.name} | | | | | {load.note} |")
            continue
        lines.append(
            f"| {load.name} | {load.requests} | {load.megabytes:.2f} | {statistics.median(load.seconds) * 1000:.0f} "
            f"| {max(load.seconds) * 1000:.0f} | {load.note} |"
        )
    return [*lines, ""]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=100_000, help="runs in the history (default 100,000)")
    parser.add_argument("--steps", type=int, default=1_000_000, help="steps in the history (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=30, help="timed rounds of every request (default 30)")
    parser.add_argument("--out", type=Path, help="where to write the report (default: bench/results/dashboard.md)")
    parser.add_argument("--page-repeat", type=int, default=5, help="timed openings of every page (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the logs and the SQLite database (named on stderr)")
    parser.add_argument(
        "--engine-src", type=Path, help="run the engine from this source tree (its `src/`) instead of this checkout's"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out: Path = args.out or RESULTS / "dashboard.md"
    procs.interrupt_on_sigterm()
    work_dir = Path(tempfile.mkdtemp(prefix="stepstone-bench-dashboard-"))
    command = " ".join([".venv/bin/python -m bench.dashboard", *(argv if argv is not None else sys.argv[1:])])
    names = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    busy = procs.busy_now()
    started = time.monotonic()
    results: list[StoreResult] = []

    def run_all() -> None:
        with procs.processes(work_dir) as group:
            for name in names:
                results.append(measure_store(name, args, work_dir, group))

    code = postgres.guarded(run_all, work_dir)
    if code is not None:
        return code
    report = render(results, args, command, time.monotonic() - started, busy)
    procs.publish(report, out, work_dir, keep_logs=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
