"""Eight runs of the same ticket at once on one repository: eight branches, no lock collisions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TICKET = "---\nid: 5\ntitle: Owls\nrunbook: four-steps\ninputs: {topic: owls}\n---\nNotes.\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.mark.slow
def test_eight_parallel_runs_finish_on_eight_branches(runner_repo: Path) -> None:
    (runner_repo.parent / "T.md").write_text(TICKET)
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN")}
    procs = [subprocess.Popen([sys.executable, "-m", "agentbook", "run", "--ticket", str(runner_repo.parent / "T.md"),
                               "--model", f"scripted:{DATA / 'four-steps.script.yaml'}", "--json"],
                              cwd=runner_repo, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(8)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    branches = sorted(r["branch"] for r in results)
    assert branches == sorted(["agentbook/four/5"] + [f"agentbook/four/5-{n}" for n in range(2, 9)])
    trees = set()
    for r in results:
        assert len(git(runner_repo, "rev-list", f"main..{r['branch']}").split()) == 4
        trees.add(git(runner_repo, "rev-parse", f"{r['branch']}^{{tree}}").strip())
        note = git(runner_repo, "notes", "--ref", "refs/notes/agentbook", "show", r["branch"])
        assert f"# agentbook run {r['run_id']}" in note
    assert len(trees) == 1  # same work on every branch
    assert git(runner_repo, "status", "--porcelain") == ""
    assert git(runner_repo, "worktree", "list").count("\n") == 1  # finished runs leave no worktree behind
