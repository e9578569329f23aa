"""The CLI as users run it: help texts (the Quickstart itself runs in test_quickstart.py)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.processes import REPO

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("command", ["dev", "start"])
def test_every_flag_documents_its_environment_variable(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stepstone", command, "--help"], capture_output=True, text=True, cwd=REPO, check=True
    )
    text = " ".join(result.stdout.split())
    flags = set(re.findall(r"--([a-z][a-z-]+)", text)) - {"help"}
    assert {"port", "host", "db", "sdk-url", "no-dashboard"} <= flags
    for flag in flags:
        env = "STEPSTONE_" + flag.upper().replace("-", "_")
        assert env in text, f"--{flag} does not show {env}"
    assert "default: 8288" in text and "default: 127.0.0.1" in text
