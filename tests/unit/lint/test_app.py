"""`stepstone lint --app module:attr`: each function's configuration meets the engine's sync rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stepstone.cli.main import main

APP = """
import inngest
import stepstone

client = stepstone.Stepstone(app_id="shop")
official = inngest.Inngest(app_id="legacy", is_production=False)


@client.create_function(fn_id="nightly", trigger=stepstone.TriggerCron(cron="{cron}"))
async def nightly(ctx: stepstone.Context) -> None:
    await ctx.step.run("report", lambda: 1)


@official.create_function(
    fn_id="legacy-fn",
    trigger=inngest.TriggerEvent(event="shop/legacy", expression="{expression}"),
)
async def legacy_fn(ctx: inngest.Context) -> None:
    await ctx.step.run("work", lambda: 1)


app = [nightly, legacy_fn]
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["lint", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_a_valid_app_is_clean_and_its_module_file_is_linted(folder: Path) -> None:
    (folder / "shop_ok.py").write_text(APP.format(cron="0 2 * * *", expression="event.data.ok == true"))
    assert lint("--app", "shop_ok:app") == (0, "0 findings in 1 file\n")


def test_bad_cron_and_expression_name_function_and_field(folder: Path) -> None:
    (folder / "shop_bad.py").write_text(APP.format(cron="61 * * * *", expression="event.data.ok ==="))
    code, output = lint("--app", "shop_bad:app")
    assert code == 1
    lines = output.splitlines()
    assert any(line.startswith("shop_bad:app: config: function 'shop-nightly': triggers[0].cron:") for line in lines)
    assert any("function 'legacy-legacy-fn': triggers[0].expression:" in line for line in lines), output
    report = json.loads(lint("--app", "shop_bad:app", "--format", "json")[1])
    assert len(report["config"]) == 2 and report["config"][0]["path"].endswith("shop_bad.py")


def test_an_app_that_cannot_be_imported_is_a_usage_error(folder: Path) -> None:
    (folder / "shop_broken.py").write_text("raise RuntimeError('boom')\n")
    code, output = lint("--app", "shop_broken:app")
    assert code == 2 and "RuntimeError: boom" in output
    assert lint("--app", "no_colon")[0] == 2
