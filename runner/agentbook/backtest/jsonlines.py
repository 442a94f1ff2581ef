"""Line-checked JSON Lines: the manifest and `backtest run`'s inputs are read the same way.

Every line is checked before anything is used, and all problems are reported at once (the first with
its `file:line`, a few more inline), so a user fixes a bad file in one pass instead of one error per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

MAX_PROBLEMS_SHOWN = 5
MAX_KINDS_SHOWN = 3  # the commonest problems counted when more are hidden


class LineProblems:
    """Problems found so far, each with the line it is on."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def add(self, lineno: int, found: list[str]) -> None:
        self.items.extend((lineno, p) for p in found)

    def raise_any(self, path: Path, hint: str) -> None:
        """One FatalError located at the first problem, naming a few more and counting the rest."""
        if not self.items:
            return
        first_line, first = self.items[0]
        more = "; ".join(f"line {n}: {p}" for n, p in self.items[1:MAX_PROBLEMS_SHOWN])
        hidden = len(self.items) - MAX_PROBLEMS_SHOWN
        extra = (f" (also {more})" if more else "") + (f" and {hidden} more problems{self._kinds()}" if hidden > 0 else "")
        raise FatalError(f"{first}{extra}", location=f"{path}:{first_line}", hint=hint)

    def _kinds(self) -> str:
        """The commonest problems with the number of lines each is on: 15,000 problems of 5,000 lines
        were 'and 14995 more problems', which did not say that every line lacked the same fields (a
        file of another shape), nor which."""
        from collections import Counter

        lines = Counter(p for _, p in dict.fromkeys(self.items))
        top = lines.most_common(MAX_KINDS_SHOWN)
        rest = len(lines) - len(top)
        return ("; in all: " + "; ".join(f"{p} ({n} line{'s' if n > 1 else ''})" for p, n in top)
                + (f"; {rest} other kind{'s' if rest > 1 else ''}" if rest > 0 else ""))


def json_lines(text: str, problems: LineProblems) -> Iterator[tuple[int, str, Any]]:
    """(line number, the line, parsed value) for each non-blank line that is valid JSON; the rest become problems."""
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            yield lineno, raw, json.loads(raw)
        except json.JSONDecodeError as err:
            problems.add(lineno, [f"invalid JSON: {err.msg} at column {err.colno}"])
