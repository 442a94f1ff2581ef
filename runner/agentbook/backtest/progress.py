"""The `analyze` progress bar: done, running, failed, cost so far, ETA (rich, on stderr)."""

from __future__ import annotations

import sys
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agentbook.console import unredacted


class AnalyzeProgress:
    """Counters the executors update; drawn by rich when `enabled` (a terminal, not --json)."""

    def __init__(self, total: int, *, enabled: bool | None = None, label: str = "analyse") -> None:
        self.total = total
        self.done = self.failed = self.running = 0
        self.cost_usd = 0.0
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._progress = Progress(
            TextColumn(label), BarColumn(), MofNCompleteColumn(),
            TextColumn("running {task.fields[running]}  failed {task.fields[failed]}  ${task.fields[cost]:.2f}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            # stderr under the redactor (which shows any escape code as text): these are rich's own,
            # drawing only counts and a label agentbook chose
            console=Console(file=unredacted(sys.stderr)), disable=not enabled, transient=False)
        self._task = self._progress.add_task(label, total=total, running=0, failed=0, cost=0.0)

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self) -> None:
        self.running += 1
        self._refresh()

    def finished(self, cost_usd: float, ok: bool) -> None:
        self.running -= 1
        self.cost_usd += cost_usd
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self._refresh(advance=1)

    def retrying(self, n: int) -> None:
        """Failed ones go round again: they leave the failed count and the bar's completed count."""
        self.failed -= n
        self._progress.update(self._task, completed=self.done + self.failed)
        self._refresh()

    def _refresh(self, advance: int = 0) -> None:
        self._progress.update(self._task, advance=advance, running=self.running, failed=self.failed,
                              cost=self.cost_usd)
