"""Finding durable functions, step names, handlers and imports, for both SDKs' shapes."""

from __future__ import annotations

import ast
import textwrap

from stepstone.lint.scope import Module
from tests.unit.lint.helpers import codes, in_function


def module(source: str) -> Module:
    return Module(ast.parse(textwrap.dedent(source)))


def test_finds_functions_of_both_sdks_sync_and_async() -> None:
    mod = module(
        """
        import inngest, stepstone
        a = inngest.Inngest(app_id="a")
        b = stepstone.Stepstone(app_id="b")

        @a.create_function(fn_id="x", trigger=inngest.TriggerEvent(event="e"))
        async def x(ctx: inngest.Context) -> None: ...

        @b.create_function(fn_id="y", trigger=stepstone.TriggerEvent(event="e"))
        def y(ctx: stepstone.ContextSync) -> None: ...

        def not_a_function(ctx): ...
        """
    )
    assert [fn.node.name for fn in mod.functions] == ["x", "y"]
    assert mod.clients == {"a", "b"}


def test_handlers_are_lambdas_inner_defs_and_module_defs_but_not_helpers() -> None:
    mod = module(
        """
        def module_handler(): ...
        def unused(): ...

        @client.create_function(fn_id="f", trigger=[])
        async def f(ctx):
            step = ctx.step
            def inner(): ...
            def helper(): ...
            await ctx.step.run("a", lambda: 1)
            await step.run("b", inner)
            await ctx.step.run("c", module_handler)
            await ctx.step.run(step_id="d", handler=inner)
        """
    )
    (fn,) = mod.functions
    names = sorted(getattr(handler.node, "name", "<lambda>") for handler in fn.handlers)
    assert names == ["<lambda>", "inner", "module_handler"]
    assert fn.step_names == {"step"}


def test_aliases_resolve_and_shadowed_names_do_not() -> None:
    mod = module(
        """
        import time as t
        from datetime import datetime as dt
        import os.path
        """
    )
    assert mod.qualname(ast.parse("t.time").body[0].value) == "time.time"  # type: ignore[attr-defined]
    assert mod.qualname(ast.parse("dt.now").body[0].value) == "datetime.datetime.now"  # type: ignore[attr-defined]
    assert mod.qualname(ast.parse("os.path.exists").body[0].value) == "os.path.exists"  # type: ignore[attr-defined]
    assert mod.qualname(ast.parse("t.time").body[0].value, {"t"}) is None  # type: ignore[attr-defined]


def test_official_sdk_step_parameter() -> None:
    source = """
    import inngest
    client = inngest.Inngest(app_id="a")

    @client.create_function(fn_id="x", trigger=inngest.TriggerEvent(event="e"))
    def x(ctx, step):
        step.run("a", lambda: 1)
        step.run("b", lambda: step.run("c", lambda: 2))
    """
    assert codes(source) == ["STP012"]


def test_code_outside_functions_is_not_checked() -> None:
    assert codes("stamp = time.time()\ndef helper():\n    return datetime.now()\n") == []
    assert codes(in_function("def helper():\n    return time.time()\nawait ctx.step.run('a', lambda: 1)\n")) == []
