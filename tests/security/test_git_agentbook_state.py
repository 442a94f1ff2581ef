"""An `.agentbook` folder beside a suite holds what `agentbook eval` keeps for it (the response cache, the index,
stored runs) behind its own `.gitignore`. The agent can remove that file: the runner then committed the folder,
and on the branch every later `eval run` of that checkout (a pull request's CI) took the forged cache's rows for
the model's answers, and links there led those runs' writes onto the host. What the step would commit under
an `.agentbook` folder is now put back as the base has it, and the run ends `blocked` (`protected`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import agent, bash, branch_files, make_repo, run


def test_agentbook_state_the_agent_commits_beside_a_suite_never_reaches_the_branch(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A response cache (or links) under `evals/.agentbook/`, its `.gitignore` removed: on the branch, every
    later `eval run` of that checkout (a pull request's CI) took the cache's rows for the model's answers.
    What `agentbook eval` keeps there as usual (behind its `.gitignore`) is no change at all."""
    repo = make_repo(tmp_path)
    usual = "mkdir -p evals/.agentbook && printf '*\\n' > evals/.agentbook/.gitignore && echo x > evals/.agentbook/r"
    code, data, out = run(repo, agent(tmp_path, bash(usual + " && echo y > y.txt")), capsys=capsys)
    assert code == 0, out
    assert not [p for p in branch_files(repo, data["branch"]) if ".agentbook" in p]
    forged = ("mkdir -p evals/.agentbook && echo rows > evals/.agentbook/responses.sqlite && "
              "ln -s /etc evals/.agentbook/runs && echo z > z.txt")
    code, data, out = run(repo, agent(tmp_path, bash(forged), name="second"), "--branch", "second", capsys=capsys)
    assert code == 11 and data["outcome"]["reason"] == "protected", out
    files = branch_files(repo, data["branch"])
    assert "z.txt" in files and not [p for p in files if ".agentbook" in p], files
