"""Printing helpers shared by commands: JSON on stdout, bounded human text, errors on stderr."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from agentbook.redaction import process_redactor

# Default human output stays within a few KB; commands say how to see more.
DEFAULT_BUDGET = 4000


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def emit_jsonl(objs: list[Any]) -> None:
    for obj in objs:
        click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def bounded(text: str, budget: int = DEFAULT_BUDGET, more_hint: str = "") -> str:
    """Cut `text` to `budget` characters with an explicit pointer to the rest."""
    if len(text) <= budget:
        return text
    rest = len(text) - budget
    hint = f": {more_hint}" if more_hint else ""
    return text[:budget] + f"\n[... {rest} bytes more{hint}]"


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


class _RedactingStream:
    """A text stream that passes every write through the redactor: nothing the CLI prints (a model's
    reply, a ticket title, a traceback) shows a secret this process holds, in any of its forms."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str")  # how click tells text streams from binary
        self._inner.write(process_redactor().text(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # writing bytes past the redactor is not offered
            raise AttributeError(name)
        return getattr(self._inner, name)


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """stdout and stderr redacted for the duration (the CLI's `main` runs every command inside)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _RedactingStream(out), _RedactingStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
