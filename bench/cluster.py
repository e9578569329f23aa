"""Several engine processes on one store, and the benchmark app in one process or in one per engine.

Every engine syncs the same serve URL (`-u`). With one app process, its `STEPSTONE_DEV` is engine 1, so
engine 1 takes every checkpoint. With one app process per engine, the processes share the app's port
(`bench.reuseport`), app process k reports to engine k, and the kernel spreads the engines' calls over the
app processes. (Apps on separate ports would not do: an app id has one URL in the shared database, so each
engine's sync would replace the others' URL, and every engine would call the last one synced.)
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench import procs
from bench.engine_api import EngineApi
from bench.stepstone_workload import engine_command

StoreFlags = Callable[[int], list[str]]  # engine index -> its store flags (`--db ...`, `--postgres-uri ...`)


@dataclass
class Cluster:
    tag: str
    apis: list[EngineApi]
    engines: list[subprocess.Popen[bytes]]
    apps: list[subprocess.Popen[bytes]]

    def engine_logs(self) -> list[str]:
        return [f"engine-{self.tag}-{index}" for index in range(len(self.engines))]

    def logs(self, group: procs.Processes) -> dict[str, Path]:
        """Each process's log, by a name for the report (`engine 1`, `app process 1`)."""
        found = {f"engine {index + 1}": group.log_of(name) for index, name in enumerate(self.engine_logs())}
        for index in range(len(self.apps)):
            found[f"app process {index + 1}"] = group.log_of(f"app-{self.tag}-{index}")
        return found

    def exited(self) -> list[str]:
        """Names of the processes that have exited (none should have)."""
        named = [(f"engine {i + 1}", p) for i, p in enumerate(self.engines)]
        named += [(f"app process {i + 1}", p) for i, p in enumerate(self.apps)]
        return [f"{name} (code {process.returncode})" for name, process in named if process.poll() is not None]

    def stop(self, group: procs.Processes) -> None:
        for api in self.apis:
            api.close()
        for process in [*self.engines, *self.apps]:
            group.stop(process)


def app_command(port: int) -> list[str]:
    return [procs.PYTHON, "-m", "bench.reuseport", str(port)]


def start_apps(group: procs.Processes, tag: str, engine_urls: list[str], port: int) -> list[subprocess.Popen[bytes]]:
    """One app process per engine URL given, all on `port`; return once the port answers."""
    apps = []
    for index, engine_url in enumerate(engine_urls):
        name = f"app-{tag}-{index}"
        apps.append(group.start(name, app_command(port), env={"STEPSTONE_DEV": engine_url, "BENCH_SDK": "stepstone"}))
    serve_url = f"http://127.0.0.1:{port}/api/inngest"
    procs.wait_until(procs.answers(serve_url), process=apps[0], what="the app", log=group.log_of(f"app-{tag}-0"))
    return apps


def start(
    group: procs.Processes,
    tag: str,
    *,
    engines: int,
    apps: int,
    store: StoreFlags,
    engine_env: Mapping[str, str] | None = None,
) -> Cluster:
    """`engines` engines on one store and `apps` app processes (1, or one per engine); return once every
    engine has synced the app. `engine_env` is added to the engines' environment only (`bench.compare`
    sets their `PYTHONPATH`).

    The engines start first, and the app once they all answer: an app registers with its engine when an
    engine pings it, so an app up before its engine would answer another engine's ping with a failed sync.
    The engines' pings before the app is up fail, are logged, and are retried within a second or two.
    """
    ports = [procs.free_port() for _ in range(engines)]
    engine_urls = [f"http://127.0.0.1:{port}" for port in ports]
    app_port = procs.free_port()
    serve_url = f"http://127.0.0.1:{app_port}/api/inngest"
    engine_processes = [
        group.start(
            f"engine-{tag}-{index}", engine_command(f"{tag}-{index}", port, serve_url, store(index)), env=engine_env
        )
        for index, port in enumerate(ports)
    ]
    named = list(zip(engine_urls, engine_processes, [f"engine-{tag}-{index}" for index in range(engines)], strict=True))
    for url, process, name in named:
        procs.wait_until(procs.answers(f"{url}/health"), process=process, what=name, log=group.log_of(name), timeout=60)
    app_processes = start_apps(group, tag, engine_urls[:apps], app_port)
    cluster = Cluster(tag, [EngineApi(url) for url in engine_urls], engine_processes, app_processes)
    for api, (_, process, name) in zip(cluster.apis, named, strict=True):
        procs.wait_until(
            lambda api=api: api.synced(serve_url),  # type: ignore[misc]
            process=process,
            what=f"{name} syncing the app",
            log=group.log_of(name),
        )
    return cluster
