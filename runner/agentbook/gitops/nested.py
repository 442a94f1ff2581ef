"""Nested repositories in a run's worktree: found, reported, and taken out before the runner's git.

Any `.git` below the worktree's top (a folder, a `gitdir:` file, a symlink; any letter case, as
macOS and Windows checkouts would read `.GIT` as `.git`) is a repository whose config the agent
wrote. The runner's git must never enter it (its fsmonitor, hooks and filters would run unconfined),
nor record it as a gitlink (`git init emptyrepo` made `git add` fail and the run crash).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

GIT_NAMES = frozenset({".git", "git~1"})  # git~1: the 8.3 short name Windows gives `.git`


def find_nested_repos(worktree: Path, unreadable: list[str] | None = None) -> list[str]:
    """Worktree-relative paths of every `.git` entry below the top, sorted; never follows symlinks.
    Folders that could not be listed (a full path past PATH_MAX: git, working below the top, reaches
    them) are added to `unreadable`: no check of the runner's has looked inside them."""
    found: list[str] = []
    top = str(worktree)

    def failed(err: OSError) -> None:
        if unreadable is not None:
            unreadable.append(os.path.relpath(str(err.filename), top))

    for dirpath, dirnames, filenames in os.walk(top, onerror=failed):
        rel_dir = os.path.relpath(dirpath, top)
        for name in [*dirnames, *filenames]:
            if rel_dir == "." and name == ".git":
                continue  # the worktree's own `.git` file, written by the runner, read-only to the agent
            if name.lower() in GIT_NAMES:
                found.append(name if rel_dir == "." else f"{rel_dir}/{name}")
        dirnames[:] = [d for d in dirnames if d.lower() not in GIT_NAMES]
    return sorted(found)


def find_bare_repos(worktree: Path) -> list[str]:
    """Worktree-relative paths of every folder below the top that git's discovery takes for a repository
    by its shape alone: `HEAD` beside `objects` and `refs` (or beside `commondir`, a linked worktree's git
    folder), any letter case. Its `config` is then the repository's for any git started in it or below it
    (an fsmonitor, a filter, `core.worktree`): a trap on the pushed branch for whoever runs git there, or
    whose shell prompt does. Never follows symlinks; `.git` entries are `find_nested_repos`'s."""
    found: list[str] = []
    top = str(worktree)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d.lower() not in GIT_NAMES]
        rel_dir = os.path.relpath(dirpath, top)
        names = {n.lower() for n in (*dirnames, *filenames)}
        if rel_dir != "." and "head" in names and ({"objects", "refs"} <= names or "commondir" in names):
            found.append(rel_dir)
    return sorted(found)


def remove_entries(worktree: Path, rels: list[str]) -> None:
    """Delete each entry (folder, file or symlink itself, never its target)."""
    for rel in rels:
        path = worktree / rel
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path)
