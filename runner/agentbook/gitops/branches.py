"""Branch names: checked with git's own rules, made unique when a template's name is taken."""

from __future__ import annotations

import re

from agentbook.errors import FatalError
from agentbook.gitops.repo import Repo


def branch_exists(repo: Repo, name: str) -> bool:
    return repo.git.ok("show-ref", "--verify", "--quiet", f"refs/heads/{name}")


def slug(text: str, max_len: int = 48) -> str:
    """A branch-safe piece: lowercase letters, digits, dots and dashes."""
    out = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    out = re.sub(r"-{2,}", "-", out).replace("..", ".")
    return out[:max_len].strip("-.") or "x"


def check_branch_name(repo: Repo, name: str) -> None:
    if not repo.git.ok("check-ref-format", "--branch", name):
        raise FatalError(f"'{name}' is not a valid branch name", hint="see git check-ref-format")


def unique_branch(repo: Repo, name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """`name`, or `name-2`, `name-3`, ... the first not already a branch (nor in `taken`)."""
    check_branch_name(repo, name)
    candidate, n = name, 1
    while branch_exists(repo, candidate) or candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate
