"""`stepstone ...` lines of no-run bash blocks, parsed by the real CLI without running it.

So documented commands and flags cannot drift from the CLI. What a line may leave to the reader:

* `...` as an option's value, and a shell expansion (`"$EVENT_KEY"`, `"$(cat key)"`) anywhere, stand for a
  value of the right type; `...` elsewhere stands for "more options" and is ignored;
* options the command requires may be left out: they can come from the environment (`STEPSTONE_*`);
* a line continued with `\\` is one command; `|`, `&&`, `||`, `;` and `&` separate commands, `#` starts a comment.
"""

from __future__ import annotations

import shlex
from pathlib import PurePath
from typing import Any

import click

from stepstone.cli.main import main

OPERATORS = {"|", "||", "&&", ";", "&", "(", ")", ";;"}
REDIRECTS = {">", ">>", "<", ">&", "&>", "<<", "<<<"}


def stepstone_commands(script: str) -> list[list[str]]:
    """The arguments of every `stepstone` command in a shell fragment."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        tokens = iter(lexer)
        for token in tokens:
            if token in OPERATORS:
                commands.append(command)
                command = []
            elif token in REDIRECTS:
                next(tokens, None)
            elif command or "=" not in token:  # VAR=value before a command sets its environment
                command.append(token)
        commands.append(command)
    return [command[1:] for command in commands if command and PurePath(command[0]).name == "stepstone"]


def check(args: list[str]) -> None:
    """Parse `stepstone ARGS` as the CLI would, without running it (see the module docstring).

    Raises:
        click.UsageError: an unknown command or option, a bad value, a missing value or argument.
    """
    command: click.Command = main
    name, parent = "stepstone", None
    while True:
        try:
            if not isinstance(command, click.Group):
                defaults = {param.name: _required_value(param) for param in _options(command) if param.required}
                command.make_context(name, _filled(command, args), parent=parent, default_map=defaults)
                return
            # A group's own options are flags (--help, --version): parse up to the subcommand's name.
            at = next((i for i, arg in enumerate(args) if not arg.startswith("-")), len(args))
            context = command.make_context(name, _filled(command, args[: at + 1]), parent=parent)
        except click.exceptions.Exit:  # --help and --version print and stop, as they would
            return
        if at == len(args):
            return
        sub_name, sub, rest = command.resolve_command(context, args[at:])
        assert sub is not None and sub_name is not None
        command, name, parent, args = sub, sub_name, context, rest


def _options(command: click.Command) -> list[click.Option]:
    return [param for param in command.params if isinstance(param, click.Option)]


def _filled(command: click.Command, args: list[str]) -> list[str]:
    """`args` with placeholders replaced by valid values (option values) or dropped (the rest)."""
    by_flag = {flag: option for option in _options(command) for flag in [*option.opts, *option.secondary_opts]}
    filled: list[str] = []
    expecting: click.Option | None = None
    for arg in args:
        if expecting is not None:
            filled.append(_sample(expecting) if _placeholder(arg) else arg)
            expecting = None
        elif _placeholder(arg):
            continue
        else:
            filled.append(arg)
            option = by_flag.get(arg)
            expecting = option if option is not None and not option.is_flag and option.nargs == 1 else None
    return filled


def _placeholder(arg: str) -> bool:
    return arg == "..." or "$" in arg


def _sample(option: click.Option) -> str:
    """A value `option` accepts."""
    if isinstance(option.type, click.Choice):
        return str(option.type.choices[0])
    if isinstance(option.type, click.types.IntParamType | click.types.FloatParamType):  # ranges included
        default = option.default
        return str(default) if isinstance(default, int | float) and not isinstance(default, bool) else "1"
    return "placeholder"


def _required_value(option: click.Option) -> Any:
    return [_sample(option)] if option.multiple else _sample(option)
