"""Push exactly one ref: the run's branch. Never `--all`, never a force push."""

from __future__ import annotations

from agentbook.gitops.repo import Repo, remote_url


def push_branch(repo: Repo, remote: str, branch: str) -> str:
    """Push `branch` to the same name on `remote`; returns the remote's URL."""
    url = remote_url(repo, remote)
    repo.git.run("push", "--quiet", "--porcelain", remote, f"refs/heads/{branch}:refs/heads/{branch}",
                 hint=f"check that you may push to {remote}")
    return url
