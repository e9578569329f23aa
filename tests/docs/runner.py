"""Running a page's blocks as a reader would: python in one namespace, bash in one script, in a scratch dir.

* Python blocks of a page run in order in one module namespace (like doctest), top-level `await` allowed,
  on the test's event loop, with the scratch directory as the working directory and first on `sys.path`,
  and `STEPSTONE_DEV=1` set (as `stepstone dev --app` sets it for apps, so `serve(...)` needs no key).
* Then the bash blocks of the page run in order as one `bash -euo pipefail` script, in the scratch directory (which
  holds a copy of `examples/`), with the venv's bin first on PATH and PYTHONPATH set to the scratch dir.
* A failing block is reported with its page, line and text.
* `engine()` runs `stepstone dev --app examples.app:app` on 127.0.0.1:8288 for pages that ask for it.
"""

from __future__ import annotations

import ast
import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.docs.blocks import REPO, Block, Page

VENV_BIN = Path(sys.executable).parent
ENGINE_PORT = 8288
ENGINE_URL = f"http://127.0.0.1:{ENGINE_PORT}"
EXAMPLE_APP = "example"
BASH_TIMEOUT = 600.0
SYNC_TIMEOUT = 60.0


class BlockFailed(AssertionError):
    """A block did not run as written."""


def prepare(page: Page, directory: Path) -> None:
    """Fill the scratch directory: a copy of `examples/` and the page's `file=` blocks."""
    shutil.copytree(REPO / "examples", directory / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    for block in page.blocks:
        if block.file:
            target = directory / block.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")


def compile_python(block: Block) -> types.CodeType:
    """Compile a python block so that tracebacks show the page's own line numbers."""
    source = "\n" * block.line + block.text  # the text starts on the line after the fence
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(source, str(REPO / block.path), "exec", flags=flags, dont_inherit=True)


async def run_python(page: Page, blocks: list[Block]) -> None:
    """Run `blocks` in order in one fresh module namespace (the caller sets the directory and environment)."""
    name = "docs_" + "".join(char if char.isalnum() else "_" for char in str(page.path))
    module = types.ModuleType(name)
    module.__file__ = str(REPO / page.path)
    sys.modules[name] = module  # pydantic and dataclasses look their module up
    try:
        for block in blocks:
            code = compile_python(block)
            try:
                if code.co_flags & inspect.CO_COROUTINE:
                    await eval(code, module.__dict__)
                else:
                    exec(code, module.__dict__)
            except Exception as err:
                trace = "".join(traceback.format_exception(type(err), err, err.__traceback__.tb_next))  # from the page
                raise BlockFailed(f"{block.where}: the python block failed\n{_numbered(block)}\n{trace}") from None
    finally:
        del sys.modules[name]


def bash_environment(directory: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STEPSTONE_", "INNGEST_"))}
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["PYTHONPATH"] = str(directory)
    return env


def run_bash(blocks: list[Block], directory: Path) -> None:
    """Run `blocks` in order as one `bash -euo pipefail` script in `directory`."""
    if not blocks:
        return
    progress = directory / ".docs-block"
    script = "".join(f'printf "{index}" > "{progress}"\n{block.text}\n' for index, block in enumerate(blocks))
    (directory / ".docs.sh").write_text(script, encoding="utf-8")
    command = ["bash", "-euo", "pipefail", str(directory / ".docs.sh")]
    try:
        env = bash_environment(directory)
        result = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=BASH_TIMEOUT)
    except subprocess.TimeoutExpired:
        block = blocks[int(progress.read_text())]
        raise BlockFailed(f"{block.where}: the bash block did not end within {BASH_TIMEOUT:.0f}s") from None
    if result.returncode != 0:
        block = blocks[int(progress.read_text())]
        raise BlockFailed(
            f"{block.where}: the bash block failed (exit {result.returncode})\n{_numbered(block)}\n"
            f"--- stdout ---\n{_tail(result.stdout)}\n--- stderr ---\n{_tail(result.stderr)}"
        )


@contextmanager
def engine(directory: Path) -> Iterator[None]:
    """`stepstone dev --app examples.app:app` on 127.0.0.1:8288 with a fresh database in `directory`.

    The app itself listens on a free port rather than on 8000, which pages never address (they talk to the
    engine), so that a page cannot collide with another app there.
    """
    if not port_free(ENGINE_PORT):
        raise BlockFailed(f"port {ENGINE_PORT} is taken: this page needs a fresh engine there; stop what uses it")
    log = directory / ".engine.log"
    command = [str(VENV_BIN / "stepstone"), "dev", "--app", "examples.app:app", "--app-port", str(_free_port())]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=directory, env=bash_environment(directory), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_sync(process, log)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_sync(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SYNC_TIMEOUT
    with httpx.Client(base_url=ENGINE_URL, timeout=5) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BlockFailed(f"the docs engine exited with {process.returncode}:\n{_tail(log.read_text())}")
            try:
                apps = http.get("/v1/apps").json()["data"]
            except (httpx.HTTPError, ValueError, KeyError):
                apps = []
            if any(app["name"] == EXAMPLE_APP and app["functions"] for app in apps):
                return
            time.sleep(0.1)
    raise BlockFailed(f"the example app did not sync within {SYNC_TIMEOUT:.0f}s:\n{_tail(log.read_text())}")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _numbered(block: Block) -> str:
    lines = block.text.splitlines()
    return "\n".join(f"{block.line + offset:5} | {line}" for offset, line in enumerate(lines, start=1))


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])
