"""The scripted eval model a ticket names is protected wherever the repository keeps it.

Met on a promptfoo workshop repository: the shipped runbooks protect `evals/*.script.yaml`, the example's
layout; a repository keeping its stand-in for the production model elsewhere (`tests/sut.script.yaml`)
left it writable, so an agent could make its failing case pass by editing what the model answers."""

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
  eval_model: {type: model, required: true, description: the model the checks run the suite with}
tools: [read, write, bash]
limits: {max_turns: 10, timeout: 5m}
branch: "agentbook/prove/{ticket.id}"
---
Work the ticket.

## Do it
Make the case fail for the right reason.
"""
TICKET = """---
id: 9
title: Hashtags
runbook: prove
inputs: {eval_model: "scripted:tests/sut.script.yaml"}
---
Tweets carry hashtags.
"""
SUT = "version: 1\ndefault: {turns: [{text: 'Bananas! #fruit'}]}\n"


def _agent(tmp_path: Path, *turns: dict[str, object]) -> Path:
    return scripted_agent(tmp_path, *turns, runbook="prove")


def _run(git_repo: Path, agent: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    (git_repo / "runbooks").mkdir()
    (git_repo / "runbooks" / "prove.md").write_text(RUNBOOK)
    (git_repo / "tests").mkdir()
    (git_repo / "tests" / "sut.script.yaml").write_text(SUT)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "runbook and eval model")
    ticket = git_repo.parent / "T.md"
    ticket.write_text(TICKET)
    capsys.readouterr()
    code = main(["run", "prove", "--ticket", str(ticket), "--repo", str(git_repo), "--model", f"scripted:{agent}",
                 "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_an_agent_editing_the_eval_model_is_blocked(git_repo: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    agent = _agent(tmp_path, {"tool_use": {"name": "write", "input": {
        "path": "tests/sut.script.yaml", "content": "version: 1\ndefault: {turns: [{text: Bananas!}]}\n"}}})
    code, data = _run(git_repo, agent, capsys)
    outcome = data["outcome"]
    assert isinstance(outcome, dict)
    assert (code, outcome["kind"], outcome["message"]) == (11, "blocked", "write refused: tests/sut.script.yaml"), data
    assert outcome["evidence"]["denied"] == {"tool": "write", "path": "tests/sut.script.yaml",  # type: ignore[index]
                                             "rule": "tests/sut.script.yaml"}


def test_the_eval_model_is_recorded_protected(git_repo: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, data = _run(git_repo, _agent(tmp_path, {"text": "Nothing to change."}), capsys)
    assert code in (0, 10), data  # nothing changed: no_changes, never blocked
    run_json = json.loads(Path(str(data["run_dir"]), "run.json").read_text())
    assert run_json["options"]["protected"] == ["tests/sut.script.yaml"]
