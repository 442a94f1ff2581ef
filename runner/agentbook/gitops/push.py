"""Push exactly one ref: the run's branch. Never `--all`, never a force push.

The only git call with the user's credentials (`Git(push=True)`); it runs in the main checkout, with
hooks, submodule recursion and command-running transports (`ext::`) off like every other call.
"""

from __future__ import annotations

from agentbook.gitops.git import Git
from agentbook.gitops.repo import Repo, remote_url


def push_branch(repo: Repo, remote: str, branch: str) -> str:
    """Push `branch` to the same name on `remote`; returns the remote's URL."""
    url = remote_url(repo, remote)
    Git(repo.root, push=True).run("push", "--quiet", "--porcelain", "--no-verify", "--no-recurse-submodules",
                                  remote, f"refs/heads/{branch}:refs/heads/{branch}",
                                  hint=f"check that you may push to {remote}")
    return url
