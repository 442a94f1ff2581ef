"""A repository's runbook is a file the ticket's author may have written (or one that shadows agentbook's
own by name), yet its `limits` were trusted: `max_turns: 100000`, `gate_retries: 50` or a sandbox of
64G and 100,000 processes went past the runner's defaults, and over the user's own `--limit`s too for
the sandbox. Now the user's side is the ceiling: the runbook may lower a limit, never raise one past the
flag given or (for a repository's runbook) the runner's default, and each cap is reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import RUNBOOK, agent, git, make_repo, run, write

from agentbook.session.limits import GIB, Limits

HOSTILE = ("limits: {max_turns: 100000, gate_retries: 50, max_usd: 1000, timeout: 100h,\n"
           "         sandbox: {memory: 64G, processes: 100000, disk: 500G, tool_seconds: 10h, tmp: 8G}}")


def _repo(tmp_path: Path, limits: str) -> Path:
    repo = make_repo(tmp_path)
    (repo / "runbooks" / "attack.md").write_text(RUNBOOK.replace("limits: {max_turns: 30, timeout: 5m}", limits))
    git(repo, "commit", "-qam", "the ticket author's runbook")
    return repo


def _plan(tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> dict:
    code, data, out = run(repo, agent(tmp_path), "--dry-run", *flags, capsys=capsys)
    assert code == 0, out
    return data


def test_a_repositorys_runbook_cannot_raise_the_runners_defaults(tmp_path: Path, capsys) -> None:
    plan = _plan(tmp_path, _repo(tmp_path, HOSTILE), capsys)
    defaults = Limits()
    assert plan["limits"]["max_turns"] == 50 and plan["gate_retries"] == 2
    assert plan["sandbox_limits"]["memory"] == defaults.memory and plan["sandbox_limits"]["processes"] == 512
    assert plan["sandbox_limits"]["disk"] == defaults.disk and plan["sandbox_limits"]["tool_seconds"] == 60
    assert plan["sandbox_limits"]["tmp"] == defaults.tmp
    capped = "\n".join(plan["limits_capped"])
    for name in ("max_turns 100000", "gate_retries 50", "sandbox.memory", "sandbox.processes", "sandbox.disk",
                 "sandbox.tool_seconds", "sandbox.tmp"):
        assert f"runbook limits.{name}" in capped, capped
    assert "the runner's default for a repository's runbook (raise it with --max-turns): capped at 50" in capped
    # spend and time have defaults too ($10, 2h): without them the runbook's $1000 and 100h went through
    assert plan["limits"]["max_usd"] == 10 and plan["limits"]["wall_seconds"] == 2 * 3600
    assert "runbook limits.max_usd 1000 is above the runner's default" in capped
    assert "runbook limits.timeout 360000 is above the runner's default" in capped


def test_the_users_flags_are_the_ceiling(tmp_path: Path, capsys) -> None:
    repo = _repo(tmp_path, HOSTILE)
    plan = _plan(tmp_path, repo, capsys, "--max-turns", "20", "--max-usd", "2", "--timeout", "10m",
                 "--gate-retries", "1", "--limit", "memory=8G", "--limit", "processes=64")
    assert plan["limits"]["max_turns"] == 20 and plan["limits"]["max_usd"] == 2
    assert plan["limits"]["wall_seconds"] == 600 and plan["gate_retries"] == 1
    assert plan["sandbox_limits"]["memory"] == 8 * GIB and plan["sandbox_limits"]["processes"] == 64
    capped = "\n".join(plan["limits_capped"])
    assert "runbook limits.max_usd 1000 is above the --max-usd given: capped at 2" in capped
    assert "runbook limits.sandbox.memory 64G is above the --limit given: capped at 8G" in capped


def test_a_runbook_may_still_lower_its_limits(tmp_path: Path, capsys) -> None:
    repo = _repo(tmp_path, "limits: {max_turns: 5, gate_retries: 0, sandbox: {memory: 1G, tool_seconds: 20s}}")
    plan = _plan(tmp_path, repo, capsys, "--max-turns", "20", "--limit", "memory=8G")
    assert plan["limits"]["max_turns"] == 5 and plan["gate_retries"] == 0
    assert plan["sandbox_limits"]["memory"] == GIB and plan["sandbox_limits"]["tool_seconds"] == 20
    assert plan["limits_capped"] == []


def test_a_real_run_reports_the_caps(tmp_path: Path, capsys) -> None:
    repo = _repo(tmp_path, HOSTILE)
    code, _, out = run(repo, agent(tmp_path, write("done.txt", "done\n")), "--max-usd", "1", capsys=capsys)
    assert code == 0, out
    assert "runbook limits.max_usd 1000 is above the --max-usd given: capped at 1" in out
    assert "runbook limits.max_turns 100000 is above the runner's default" in out
