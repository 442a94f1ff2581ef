"""The SUITE argument of `agentbook eval` and `agentbook baseline`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def suite_arg(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The SUITE argument; a `file://` reference the suite may not read is reported at the line that
    writes it (the library raises it where it reads the file, which is not where the user wrote it)."""
    @functools.wraps(fn)
    def placing(*args: Any, **kwargs: Any) -> Any:
        from agentbook.evals import refs

        try:
            return fn(*args, **kwargs)
        except refs.RefRefused as err:
            raise refs.placed(err, kwargs["suite"]) from None

    return click.argument("suite", type=click.Path(path_type=Path))(placing)
