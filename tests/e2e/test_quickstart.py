"""The README's Quickstart, run exactly as written: its own strings, in a fresh copy of the repository.

The install-and-run block runs in the background, as in the user's first terminal (`pip install -e .`
needs PyPI or pip's cache). The lines of the blocks after it run in order in one bash, as typed in a second
terminal, with real `curl`; each line's answers are checked (JSON, HTTP 200: a `.curlrc` makes curl also
write each status code to stderr, leaving the command line and its output untouched). Then Ctrl+C (SIGINT
to the first terminal's process group) must stop the engine cleanly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.docs import blocks
from tests.docs.blocks import REPO
from tests.docs.runner import port_free

pytestmark = pytest.mark.slow

QUICKSTART = "tests/e2e/test_quickstart.py::test_the_quickstart_runs_as_written"
TEST_COMMAND = "tests/e2e/test_quickstart.py::test_the_readme_test_command_is_what_ci_runs"
PORTS = (8288, 8000)  # the engine's, and the first --app's
INSTALL_TIMEOUT = 900.0  # the first line waits for `pip install -e .`
LINE_TIMEOUT = 120.0
MARK = "@@quickstart-line"
OUTPUT = {"items": ["sku-0", "sku-1"], "charge": "ch_123", "shipped": True}


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    install, *typed = blocks.claimed_by(QUICKSTART)
    assert len(install.text.splitlines()) == 1 and typed, "the Quickstart: one install-and-run line, then curls"
    lines = [line for block in typed for line in block.text.splitlines() if line.strip() and line[0] != "#"]
    for port in PORTS:
        if not port_free(port):
            pytest.fail(f"port {port} is taken: the Quickstart needs it; stop what uses it")
    clone = _fresh_copy(tmp_path / "stepstone")
    env = _user_environment(tmp_path)
    log = tmp_path / "first-terminal.log"
    with open(log, "wb") as output:
        first = subprocess.Popen(
            ["bash", "-c", install.text],
            cwd=clone,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
    second = Terminal(clone, env, first, log)
    try:
        for index, line in enumerate(lines):
            status, out, codes = second.run(line, timeout=INSTALL_TIMEOUT if index == 0 else LINE_TIMEOUT)
            assert status == 0, f"exit {status}: {line}\n{out}"
            if not line.startswith("until "):  # a loop's answers are its polls; it ends once the last one matched
                assert codes and set(codes) == {"200"}, f"HTTP {codes}: {line}\n{out}"
                if out.strip():
                    json.loads(out)
    finally:
        second.close()
        _interrupt(first)
    run = json.loads(out)["data"]
    assert (run["status"], run["output"]) == ("Completed", OUTPUT)
    text = log.read_text(errors="replace")
    assert first.returncode == 0, f"Ctrl+C: exit {first.returncode}\n{text[-3000:]}"
    assert "Traceback" not in text and "Aborted!" not in text, text[-3000:]
    assert all(port_free(port) for port in PORTS), "the engine or the app still listens after Ctrl+C"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    (block,) = blocks.claimed_by(TEST_COMMAND)
    command = block.text.strip()
    assert "\n" not in command
    assert command in (REPO / ".ci" / "run").read_text().splitlines(), ".ci/run must run the README's command unchanged"


class Terminal:
    """A second terminal: one bash reading lines as they are typed, so that shell variables carry over."""

    def __init__(self, directory: Path, env: dict[str, str], first: subprocess.Popen[bytes], log: Path) -> None:
        self.stdout, self.stderr = directory.parent / "second.out", directory.parent / "second.err"
        self.first, self.log = first, log
        with open(self.stdout, "wb") as stdout, open(self.stderr, "wb") as stderr:
            self.bash = subprocess.Popen(
                ["bash"], cwd=directory, env=env, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, text=True
            )
        self.lines = 0

    def run(self, line: str, *, timeout: float) -> tuple[int, str, list[str]]:
        """Type `line`; its exit status, its stdout and the HTTP status codes of its curls."""
        assert self.bash.stdin is not None
        self.bash.stdin.write(f"{line}\n__status=$?; printf '\\n{MARK} %s\\n' $__status; printf '{MARK}\\n' >&2\n")
        self.bash.stdin.flush()
        self.lines += 1
        deadline = time.monotonic() + timeout
        while len(parts := re.split(rf"\n{MARK} (\d+)\n", self.stdout.read_text())) < 2 * self.lines + 1:
            if self.first.poll() is not None:
                self._fail(line, f"the first terminal exited with {self.first.returncode}", parts[-1])
            if time.monotonic() > deadline:
                self._fail(line, f"not done after {timeout:.0f}s", parts[-1])
            time.sleep(0.1)
        codes = self.stderr.read_text().split(f"{MARK}\n")[self.lines - 1]
        return int(parts[-2]), parts[-3], [code for code in codes.split() if code.isdigit()]

    def _fail(self, line: str, why: str, output: str) -> None:
        first = self.log.read_text(errors="replace")[-3000:]
        pytest.fail(f"{line}\n{why}\n--- first terminal ---\n{first}\n--- second terminal ---\n{output[-2000:]}")

    def close(self) -> None:
        assert self.bash.stdin is not None
        self.bash.kill()
        self.bash.stdin.close()
        self.bash.wait()


def _interrupt(first: subprocess.Popen[bytes]) -> None:
    """Ctrl+C in the first terminal: SIGINT to its foreground process group."""
    if first.poll() is None:
        os.killpg(first.pid, signal.SIGINT)
        try:
            first.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()


def _fresh_copy(target: Path) -> Path:
    """The repository as a clone would have it: tracked files and new ones not ignored, as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _user_environment(tmp_path: Path) -> dict[str, str]:
    """A new terminal's environment: nothing of Stepstone's or of this venv; curl also writes status codes."""
    curl_home = tmp_path / "curl"
    curl_home.mkdir()
    (curl_home / ".curlrc").write_text('write-out = "%{stderr}%{response_code}\\n"\n')
    drop = ("STEPSTONE_", "INNGEST_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part != venv_bin)
    env["CURL_HOME"] = str(curl_home)
    return env
