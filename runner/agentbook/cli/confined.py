"""Inside a session (`AGENTBOOK_CONFINE_ROOT` set by the runner) every command's paths and models are
checked before the command runs; commands that start sessions, servers or runs are refused outright.

The check wraps each command's callback once, when the command is first looked up in a confined
process; the wrapper reads the confinement again at each call (`main` may run many times in one process).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from agentbook.confine import Confinement, ConfinementError, from_env

# Commands that start agents, servers or runs of their own, or write to folders they choose.
REFUSED = frozenset({"demo", "run", "session", "standin", "test-runbook", "watch"})
PATH_NAMES = frozenset({"file", "source"})  # string options that name a file to read
MODEL_NAMES = frozenset({"model", "grader"})


def refuse(name: str) -> ConfinementError:
    return ConfinementError(f"`agentbook {name}` cannot run inside a session",
                            hint="inside a session use eval, trace, baseline, backtest, validate, runbooks, skills")


def confine_command(cmd: click.Command) -> click.Command:
    """`cmd` (and every subcommand of a group) with its arguments checked before it runs."""
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            confine_command(sub)
        return cmd
    callback = cmd.callback
    if callback is None or getattr(callback, "_confined", False):
        return cmd

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        confinement = from_env()
        if confinement is not None:
            for param in cmd.params:
                if param.name is not None and param.name in kwargs:
                    check_value(param, kwargs[param.name], confinement)
        return callback(*args, **kwargs)

    checked._confined = True  # type: ignore[attr-defined]
    cmd.callback = checked
    return cmd


def check_value(param: click.Parameter, value: Any, confinement: Confinement) -> None:
    values = value if isinstance(value, tuple | list) else (value,)
    for item in values:
        if item is None or item == "-":
            continue
        if param.name in MODEL_NAMES and isinstance(item, str):
            confinement.check_model(item)
        elif isinstance(param.type, click.Path) or param.name in PATH_NAMES:
            confinement.check_path(Path(str(item)), f"--{param.name}" if isinstance(param, click.Option)
                                   else str(param.name).upper())
