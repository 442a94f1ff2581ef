"""`agentbook runs list` lines up its columns: a run id holds its runbook's name, so a consolidate-prompt run
pushed its status, branch and commits out of line with the fix-prompt runs above it (dogfood on docextract)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentbook.runbooks.record import RunDir, RunRecord, StepRecord, runs_root


def _record(run_id: str, runbook: str, commits: int) -> RunRecord:
    steps = [StepRecord(n + 1, f"step {n + 1}", "done", commit=f"{n:040x}" if n < commits else None)
             for n in range(2)]
    return RunRecord(run_id, runbook, "0" * 40, f"runbooks/{runbook}.md", "scripted:x", f"agentbook/{runbook}/dx-1",
                     "main", "0" * 40, "", "", {}, {}, {}, steps, status="completed")


def test_columns_line_up(run_cli: Callable[..., Any], git_repo: Path) -> None:
    root = runs_root(git_repo)
    for run_id, runbook, commits in [("20261206-004331-fix-prompt-ab1480", "fix-prompt", 2),
                                     ("20261206-004237-consolidate-prompt-25119c", "consolidate-prompt", 1)]:
        RunDir(root, run_id).save(_record(run_id, runbook, commits))
    lines = run_cli("runs", "list", "--repo", git_repo).out.splitlines()
    assert len(lines) == 2
    for word in ("completed", "agentbook/", "commit", "$"):
        assert len({line.index(word) for line in lines}) == 1, lines
    assert "  2 commits  $" in lines[0] and "  1 commit   $" in lines[1]
