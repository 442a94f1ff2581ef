"""The suite a run works on, and the test files it reads, are protected wherever the repository keeps them.

The shipped fix-prompt protected `evals/**/suite.yaml`, the example's layout: a suite at the repository's
root (`promptfooconfig.yaml`) and the case files or CSV it references were writable, so the agent could
weaken the cases its own fix is judged by. A protected entry `{inputs.suite}` names that suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import git, scripted_agent

from agentbook.cli import main

RUNBOOK = """---
name: prove
description: Add a case and prove it fails on the current prompt.
inputs:
  suite: {type: path, required: true, description: the suite the checks run}
tools: [read, write, bash]
protected: ["{inputs.suite}"]
limits: {max_turns: 10, timeout: 5m}
branch: "agentbook/prove/{ticket.id}"
---
Work the ticket.

## Do it
Add a case.
"""
TICKET = """---
id: 9
title: Hashtags
runbook: prove
inputs: {suite: promptfooconfig.yaml}
---
Tweets carry hashtags.
"""
SUITE = "prompts: [file://prompt.txt]\ntests: [file://cases/*.yaml, file://more.csv]\n"
CASE = "id: a\nvars: {q: hi}\nassert: [{type: contains, value: hi}]\n"


def _agent(tmp_path: Path, *turns: dict[str, object]) -> Path:
    return scripted_agent(tmp_path, *turns, runbook="prove")


def _repo(git_repo: Path) -> Path:
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "prove.md").write_text(RUNBOOK)
    (git_repo / "promptfooconfig.yaml").write_text(SUITE)
    (git_repo / "prompt.txt").write_text("Answer {{q}}\n")
    (git_repo / "cases").mkdir()
    (git_repo / "cases" / "a.yaml").write_text(CASE)
    (git_repo / "more.csv").write_text("q,__expected\nhi,contains:hi\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "suite at the root")
    ticket = git_repo.parent / "T.md"
    ticket.write_text(TICKET)
    return ticket


def _run(git_repo: Path, agent: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    ticket = _repo(git_repo)
    capsys.readouterr()
    code = main(["run", "prove", "--ticket", str(ticket), "--repo", str(git_repo), "--model", f"scripted:{agent}",
                 "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", ["promptfooconfig.yaml", "cases/a.yaml", "more.csv"])
def test_an_agent_editing_the_suite_or_its_cases_is_blocked(git_repo: Path, tmp_path: Path, path: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    agent = _agent(tmp_path, {"tool_use": {"name": "write", "input": {"path": path, "content": "tests: []\n"}}})
    code, data = _run(git_repo, agent, capsys)
    outcome = data["outcome"]
    assert isinstance(outcome, dict)
    assert (code, outcome["kind"], outcome["message"]) == (11, "blocked", f"write refused: {path}"), data
    assert "tests: []" not in git(git_repo, "show", f"main:{path}")


def test_a_new_case_file_may_still_be_added(git_repo: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    agent = _agent(tmp_path, {"tool_use": {"name": "write", "input": {"path": "cases/b.yaml", "content": CASE}}})
    code, data = _run(git_repo, agent, capsys)
    assert (code, data["outcome"]["kind"]) == (0, "completed"), data  # type: ignore[index]
    run_json = json.loads(Path(str(data["run_dir"]), "run.json").read_text())
    assert run_json["options"]["protected"] == ["promptfooconfig.yaml", "cases/a.yaml", "more.csv"]


def test_the_shipped_fix_prompt_leaves_the_suite_its_case_goes_in_writable(git_repo: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """fix-prompt's second step writes its case into the suite: protecting a root suite whose cases are inline
    (or one JSONL file) for the whole run blocked every such run there. Edited or removed cases and changed
    checks are refused by the last step's sealed `baseline check` (tests/runbooks/test_baseline.py)."""
    _repo(git_repo)
    (git_repo / "sut.script.yaml").write_text("version: 1\ndefault: {turns: [{text: hi}]}\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "stand-in")
    capsys.readouterr()
    code = main(["run", "fix-prompt", "--repo", str(git_repo), "--dry-run", "--json", "--model", f"scripted:{git_repo / 'sut.script.yaml'}",
                 "--input", "prompt=prompt.txt", "--input", "suite=promptfooconfig.yaml", "--input", "case=b",
                 "--input", "behaviour=say hi", "--input", "eval_model=scripted:sut.script.yaml"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert "promptfooconfig.yaml" not in out["protected"] and "sut.script.yaml" in out["protected"], out


def test_a_protected_entry_naming_no_path_is_refused(git_repo: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    ticket = _repo(git_repo)
    (git_repo / "runbooks" / "prove.md").write_text(RUNBOOK.replace("{inputs.suite}\"]", "{inputs.nope}\"]"))
    git(git_repo, "commit", "-q", "-am", "typo")
    capsys.readouterr()
    code = main(["run", "prove", "--ticket", str(ticket), "--repo", str(git_repo), "--dry-run", "--json",
                 "--model", f"scripted:{_agent(tmp_path)}"])
    assert code == 3
    assert "names no repository path" in capsys.readouterr().err
