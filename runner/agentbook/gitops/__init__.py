"""Git done by the runner, never by the model: worktrees, branches, commits with trailers, notes,
push and pull requests. Every git call goes through `gitops.git` (one subprocess helper)."""

from agentbook.gitops.git import Git, GitError

__all__ = ["Git", "GitError"]
