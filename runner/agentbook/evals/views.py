"""Bounded views of cases for agents: long values are cut with an exact pointer to the rest.

An agent asked to change one expected output should read a few hundred bytes, not a 40 KB log, so
every long string is shown as its head plus `[... N bytes more: use --field vars.logs --range A:B]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from agentbook.errors import FatalError
from agentbook.evals.fieldpath import PathPart, format_path

FIELD_BUDGET = 300  # characters of one long value shown in a case view
RANGE_BUDGET = 4000  # characters of one field shown by --field


def pointer(path: str, shown_to: int, total: int, step: int = RANGE_BUDGET) -> str:
    rest = total - shown_to
    return f"[... {rest} bytes more: use --field {path} --range {shown_to}:{min(total, shown_to + step)}]"


@dataclass
class Cut:
    field: str
    size: int
    shown: int

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "size": self.size, "shown": self.shown,
                "more": f"--field {self.field} --range {self.shown}:{min(self.size, self.shown + RANGE_BUDGET)}"}


def truncate_leaves(value: Any, budget: int = FIELD_BUDGET) -> tuple[Any, list[Cut]]:
    """`value` with every string longer than `budget` cut to `budget` plus a pointer line."""
    cuts: list[Cut] = []

    def walk(node: Any, path: list[PathPart]) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, [*path, str(k)]) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, [*path, i]) for i, v in enumerate(node)]
        if isinstance(node, str) and len(node) > budget:
            name = format_path(path)
            cuts.append(Cut(name, len(node), budget))
            return node[:budget] + "\n" + pointer(name, budget, len(node))
        return node

    return walk(value, []), cuts


class _ViewDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so a cut log reads like the log it is."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_ViewDumper.add_representer(str, _str)


def render_case(value: Any) -> str:
    return yaml.dump(value, Dumper=_ViewDumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


def slice_field(value: Any, path: str, rng: str | None) -> tuple[str, int, int, int]:
    """The text of a field (YAML for non-strings) sliced to `rng` or the default budget.

    Returns (text, start, end, total).
    """
    text = value if isinstance(value, str) else render_case(value)
    total = len(text)
    if rng is None:
        start, end = 0, min(total, RANGE_BUDGET)
    else:
        m = re.fullmatch(r"(\d*):(\d*)", rng.strip())
        if m is None:
            raise FatalError(f"bad --range {rng!r}", hint="write it as A:B, A: or :B (character offsets)")
        start = int(m.group(1) or 0)
        end = int(m.group(2)) if m.group(2) else total
        if start > end:
            raise FatalError(f"bad --range {rng!r}: start is after end")
        end = min(end, total)
    return text[start:end], start, end, total
