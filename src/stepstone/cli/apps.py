"""`stepstone dev --app`: the app processes the dev engine runs beside it, and `--reload`.

Each app runs as `python -m stepstone.cli.apps MODULE:ATTR --port N ...` (uvicorn, pointed at the
engine by `STEPSTONE_DEV`) in a session of its own, so Ctrl+C in the terminal reaches the engine
alone: it drains its calls to the apps, then stops them. On Linux an app also stops when the engine
dies (a parent-death signal), so a killed engine leaves no app holding its port.

The `Supervisor` runs on the engine's event loop and syncs each app itself, as soon as it listens
(not on the engine's `-u` schedule, which would call it down during every restart). When an app
exits on its own, the engine stops with a message (exit code 1); with `--reload` the failure is
logged and the app starts again at the next change. With `--reload`, a change to a `.py` file under
the current directory (or an app's package) restarts every app and syncs it again at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.machinery
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
import watchfiles

log = logging.getLogger("stepstone.apps")
Sync = Callable[[str], Awaitable[str | None]]  # an app's serve URL -> the sync's problem, or None
ENGINE_PID = "STEPSTONE_DEV_ENGINE_PID"  # tells an app process which engine it belongs to
STOP_TIMEOUT_S = 10.0  # then SIGKILL
SYNC_RETRY_MAX_S = 5.0  # between attempts to sync an app that does not sync
_PR_SET_PDEATHSIG = 1


class SourceFilter(watchfiles.PythonFilter):
    """`.py` files outside virtualenvs, VCS and cache directories, and the engine's `.stepstone/`."""

    ignore_dirs = (*watchfiles.DefaultFilter.ignore_dirs, "venv", ".stepstone", ".ruff_cache")


@dataclass
class App:
    spec: str  # MODULE:ATTR
    port: int
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/inngest"


class Supervisor:
    """Starts the `--app` processes, syncs them, restarts them on changes (`reload`), stops them."""

    def __init__(self, specs: tuple[str, ...], first_port: int, engine_url: str, *, reload: bool) -> None:
        self.apps = [App(spec, first_port + offset) for offset, spec in enumerate(specs)]
        self.engine_url = engine_url
        self.reload = reload
        self.cwd = Path.cwd()
        self.failure: str | None = None  # why the engine stopped: an app exited (without `reload`)
        self._sync: Sync | None = None
        self._on_failure: Callable[[], None] = lambda: None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop_watching = asyncio.Event()
        self._stopping = False

    async def start(self, sync: Sync, on_failure: Callable[[], None]) -> None:
        """Start every app; `sync` syncs one with the engine, `on_failure` stops the engine."""
        self._sync, self._on_failure = sync, on_failure
        for app in self.apps:
            await self._launch(app)
        if self.reload:
            self._spawn(self._watch())

    async def stop(self) -> None:
        """Stop watching and supervising, then stop every app (SIGTERM, then SIGKILL after a while)."""
        self._stopping = True
        self._stop_watching.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(terminate(app.process) for app in self.apps if app.process is not None))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _launch(self, app: App) -> None:
        if self._stopping:
            return
        env = {
            **os.environ,
            "STEPSTONE_DEV": self.engine_url,
            "PYTHONPATH": os.pathsep.join([str(self.cwd), os.environ.get("PYTHONPATH", "")]),
            ENGINE_PID: str(os.getpid()),
        }
        command = [sys.executable, "-m", "stepstone.cli.apps", app.spec, "--host", "127.0.0.1"]
        command += ["--port", str(app.port), "--log-level", "warning"]
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdin=asyncio.subprocess.DEVNULL, start_new_session=True
        )
        app.process = process
        self._spawn(self._supervise(app, process))

    async def _supervise(self, app: App, process: asyncio.subprocess.Process) -> None:
        """Sync the app once it listens; when it exits on its own, stop the engine or wait for a change."""
        if await listening(app.port, process):
            await self._sync_app(app, process)
        code = await process.wait()
        if self._stopping or app.process is not process:  # stopped, or replaced by a reload
            return
        what = describe_exit(app.spec, code)
        extra = {"action": "app.exited", "app": app.spec, "exit_code": code}
        if self.reload:
            log.error("%s; waiting for a change to restart it", what, extra=extra)
            return
        log.error("%s; stopping the engine", what, extra=extra)
        self.failure = f"{what}; fix it and start again, or use --reload"
        self._on_failure()

    async def _sync_app(self, app: App, process: asyncio.subprocess.Process) -> None:
        """Sync until it works (the engine may still be starting; a refused sync is logged once) or it exits."""
        assert self._sync is not None
        delay = 0.1
        while process.returncode is None and await self._sync(app.url) is not None:
            await asyncio.sleep(delay)
            delay = min(delay * 2, SYNC_RETRY_MAX_S)

    async def _watch(self) -> None:
        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch of changes at INFO
        paths = watch_paths([app.spec for app in self.apps], self.cwd)
        async for changes in watchfiles.awatch(*paths, watch_filter=SourceFilter(), stop_event=self._stop_watching):
            changed = ", ".join(sorted({self._display(path) for _, path in changes}))
            for app in self.apps:
                log.info("reloading %s (changed: %s)", app.spec, changed, extra={"action": "app.reloading"})
                await self._restart(app)

    async def _restart(self, app: App) -> None:
        old, app.process = app.process, None
        await terminate(old)
        await self._launch(app)

    def _display(self, path: str) -> str:
        file = Path(path)
        return str(file.relative_to(self.cwd)) if file.is_relative_to(self.cwd) else path


async def listening(port: int, process: asyncio.subprocess.Process) -> bool:
    """Wait until something accepts connections on `port` (True), or the process exits (False)."""
    while process.returncode is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            connected = False
        else:
            # A connect to a free port of the ephemeral range can meet itself (a TCP simultaneous open).
            connected = writer.get_extra_info("sockname") != writer.get_extra_info("peername")
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if connected:
            return True
        await asyncio.sleep(0.05)  # uvicorn offers no readiness signal
    return False


async def terminate(process: asyncio.subprocess.Process | None) -> None:
    if process is None or process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def describe_exit(spec: str, code: int) -> str:
    if code < 0:
        return f"the app {spec} was stopped by {signal.Signals(-code).name}"
    return f"the app {spec} exited with code {code}"


def watch_paths(specs: list[str], cwd: Path) -> list[Path]:
    """The current directory, and each app's package when it lives elsewhere (but not in the environment)."""
    search = [str(cwd), *os.environ.get("PYTHONPATH", "").split(os.pathsep), *sys.path]
    environment = [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    paths = [cwd]
    for spec in specs:
        directory = module_directory(spec.partition(":")[0], [entry for entry in search if entry])
        if directory is None or directory in paths or any(directory.is_relative_to(p) for p in [cwd, *environment]):
            continue
        paths.append(directory)
    return paths


def module_directory(module: str, search: list[str]) -> Path | None:
    """The directory of the top-level package (or module) of `module`, found without importing anything."""
    found = importlib.machinery.PathFinder.find_spec(module.split(".")[0], search)
    if found is None:
        return None
    if found.submodule_search_locations:
        return Path(next(iter(found.submodule_search_locations))).resolve()
    return Path(found.origin).resolve().parent if found.origin else None


def stop_with_parent() -> None:
    """In an app process (Linux): receive SIGTERM when the engine that started it dies."""
    if sys.platform != "linux" or ENGINE_PID not in os.environ:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(os.environ[ENGINE_PID]):  # the engine died before the signal was armed
        sys.exit(0)


def main() -> None:
    """`python -m stepstone.cli.apps MODULE:ATTR [uvicorn options]`: an app process of `stepstone dev`."""
    stop_with_parent()
    uvicorn.main(prog_name="uvicorn")


if __name__ == "__main__":
    main()
