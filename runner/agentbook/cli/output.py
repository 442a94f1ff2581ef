"""Printing helpers shared by commands: JSON on stdout, bounded human text, errors on stderr."""

from __future__ import annotations

import json
from typing import Any

import click

from agentbook.console import json_text, redacted_output

__all__ = ["DEFAULT_BUDGET", "bounded", "emit_json", "emit_jsonl", "json_option", "redacted_output"]

# Default human output stays within a few KB; commands say how to see more.
DEFAULT_BUDGET = 4000


def emit_json(obj: Any) -> None:
    click.echo(json_text(obj))


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
