"""Lint a function body written in a test: a file with the usual imports and a client around it."""

from __future__ import annotations

import textwrap

from stepstone.lint import lint_source
from stepstone.lint.rules import RULES

PRELUDE = """\
import asyncio
import contextlib
import datetime as datetime_module
import logging
import os
import random
import subprocess
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import stepstone

client = stepstone.Stepstone(app_id="shop")
log = logging.getLogger(__name__)
"""


def codes(source: str, select: str = "ALL") -> list[str]:
    """The codes found in `source` (a whole file after the prelude), in order."""
    enabled = set(RULES) if select == "ALL" else {select}
    return [finding.code for finding in lint_source(PRELUDE + textwrap.dedent(source), "t.py", enabled)]


def in_function(body: str, sync: bool = False, header: str = "") -> str:
    """`body` (dedented) as the body of an async durable function (or a sync one)."""
    kind, ctx = ("def", "stepstone.ContextSync") if sync else ("async def", "stepstone.Context")
    lines = textwrap.indent(textwrap.dedent(body), "    ")
    return (
        f"{textwrap.dedent(header)}\n"
        '@client.create_function(fn_id="f", trigger=stepstone.TriggerEvent(event="e"))\n'
        f"{kind} f(ctx: {ctx}) -> None:\n{lines}"
    )
