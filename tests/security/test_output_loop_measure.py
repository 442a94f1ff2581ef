"""`backtest close-loop` measures a fix by re-running the backtest on the fix's branch, and read everything of
that re-run from the branch: the run spec (its `assert:`, `limits:`, `timeout:`) and its recorded inputs (the
truth and the `expected:` values the assertions read). The agent writes that branch. A fix that passed its own
gates and broke four incidents, plus one edit that made the spec's assertion ask for the empty string, turned
every answer correct: its cohort went 8 -> 0, nothing grew, and the runner opened a *ready* pull request
saying so. A fix branch that changes what measures it is now not re-run, and gets a draft saying which files.
The real loop: the mini system, the real jail, the scripted fixer, the local GitHub API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.loop.test_close_loop import DATA, close_loop, mini  # noqa: F401 - mini is the fixture used below

CHEAT = f"scripted:{DATA / 'fixer-cheat.script.yaml'}"


def test_a_fix_that_rewrites_its_own_measure_is_not_called_ready(mini: tuple[Path, str],  # noqa: F811
                                                                   run_cli: Callable[..., Any],
                                                                   github: list[dict[str, Any]]) -> None:
    repo, ticket = mini
    res = close_loop(run_cli, ticket, CHEAT, ".agentbook/loop-cheat", "--push", "origin", "--open-pr", "--json")
    fix = json.loads(res.out)["fixes"][0]
    assert fix["run"]["status"] == "completed"  # its own gates passed, as the wrong fix's do
    assert 'value: ""' in (repo / ".agentbook" / "loop-cheat").joinpath(
        fix["ticket_id"], "tree", "backtest", "run.yaml").read_text()  # the branch holds the cheat
    assert res.code == 1 and not fix["ready"], fix
    assert any("changed what measures it" in r and "backtest/run.yaml" in r for r in fix["reasons"]), fix["reasons"]
    assert [r["body"]["draft"] for r in github] == [True]
    assert "backtest/run.yaml" in github[0]["body"]["body"]
