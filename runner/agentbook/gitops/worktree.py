"""One git worktree per run, under `<repo>/.agentbook/worktrees/<run-id>`.

Creation and removal take the repository lock: `git worktree add` writes shared metadata and a new
branch ref, and parallel runs must never collide on `index.lock` or `packed-refs.lock`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from agentbook.errors import FatalError
from agentbook.fsutil import file_lock
from agentbook.gitops.branches import branch_exists, unique_branch
from agentbook.gitops.git import Git, GitError
from agentbook.gitops.repo import Repo, check_state_folder, ensure_state_ignored


def worktree_path(repo: Repo, run_id: str) -> Path:
    return check_state_folder(repo.root) / "worktrees" / run_id


def create_worktree(repo: Repo, run_id: str, branch: str, base_sha: str, *, dedupe: bool = False,
                    on_branch: Callable[[str], None] | None = None) -> tuple[Path, str]:
    """A new worktree on a new branch starting at `base_sha`; returns (path, branch).

    With `dedupe` a taken name becomes `name-2`, `name-3`, ... chosen under the lock, so parallel
    runs of one template never pick the same name; without it a taken name is an error. `on_branch`
    hears the chosen name before git creates it, so a caller can record it first (crash safety)."""
    ensure_state_ignored(repo)
    path = worktree_path(repo, run_id)
    with file_lock(repo.lock_path):
        if dedupe:
            branch = unique_branch(repo, branch)
        elif branch_exists(repo, branch):
            raise FatalError(f"branch '{branch}' already exists",
                             hint="pick another name with --branch, or delete the old branch")
        if path.exists():
            raise FatalError(f"worktree {path} already exists", hint="use --resume to continue that run")
        path.parent.mkdir(parents=True, exist_ok=True)
        if on_branch is not None:
            on_branch(branch)
        repo.git.run("worktree", "add", "--quiet", "-b", branch, str(path), base_sha)
    return path, branch


def reopen_worktree(repo: Repo, run_id: str, branch: str, base_sha: str) -> Path:
    """The run's worktree for a resume; recreated on its branch if it was removed, and the branch
    from `base_sha` if a kill came before git made it."""
    path = worktree_path(repo, run_id)
    if (path / ".git").exists():
        return path
    with file_lock(repo.lock_path):
        repo.git.run("worktree", "prune")
        if path.exists():
            shutil.rmtree(path)
        if branch_exists(repo, branch):
            repo.git.run("worktree", "add", "--quiet", str(path), branch)
        else:
            repo.git.run("worktree", "add", "--quiet", "-b", branch, str(path), base_sha)
    return path


def remove_worktree(repo: Repo, path: Path) -> None:
    with file_lock(repo.lock_path):
        try:
            repo.git.run("worktree", "remove", "--force", str(path))
        except GitError:
            # git deletes by full path: a file the agent made past PATH_MAX (ENAMETOOLONG) stopped it, and
            # the run's outcome with it. Python's rmtree walks by descriptor (and never follows a link).
            if not path.is_dir():
                raise
            shutil.rmtree(path)
            repo.git.run("worktree", "prune")


def has_changes(worktree: Path) -> bool:
    """Anything to commit: tracked changes or untracked files that are not ignored."""
    return bool(Git(worktree).run("status", "--porcelain", "--untracked-files=all",
                                         "--ignore-submodules=all").strip())


def reset_to(worktree: Path, sha: str) -> None:
    """Throw away uncommitted work in the run's own worktree (a resume redoes the unfinished step)."""
    g = Git(worktree)
    g.run("reset", "--quiet", "--hard", sha)
    g.run("clean", "-q", "-ffd")  # -ff: nested repositories the step left go too


def head_sha(worktree: Path) -> str:
    return Git(worktree).run("rev-parse", "HEAD").strip()
