"""Branch names: checked with git's own rules and against reading as another ref, made unique when a
template's name is taken.

A repository's runbook (its `branch:` template) is the ticket author's to write, and the runner makes
the branch in the user's repository, whose refs a run's worktree shares. git accepts as a branch name
much that reads as another ref: a branch `origin/main` makes `git diff origin/main` in that checkout
(a CI script, `agentbook run --base origin/main`) resolve to the agent's commits, and so do
`refs/heads/main`, `tags/v1`, a tag's own name or a commit's short id for theirs; a right-to-left
override shows the pull request's head as another name."""

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


_PLAIN = re.compile(r"[!-~]+")  # printable ASCII; git refuses the rest of what would mislead (space, ~^:?*[\\)
# what a shell reads as plain text: a CI step that pastes the branch's name into a script
# (`run: echo ${{ github.head_ref }}`, the usual injection) ran `$(...)` or backquotes in it
_SHELL_INERT = re.compile(r"[A-Za-z0-9._/+{}-]+")  # braces: no expansion runs a command
_SPECIAL = re.compile(r"[A-Z_]*HEAD")  # HEAD, FETCH_HEAD, ORIG_HEAD, MERGE_HEAD ...
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{4,64}")
REF_FOLDERS = ("refs", "heads", "tags", "remotes")


def check_branch_name(repo: Repo, name: str) -> None:
    if not repo.git.ok("check-ref-format", "--branch", name):
        raise FatalError(f"'{name}' is not a valid branch name", hint="see git check-ref-format")
    if _PLAIN.fullmatch(name) and not _SHELL_INERT.fullmatch(name):
        raise FatalError(f"'{name}' cannot be the run's branch: only letters, digits and . _ / + - {{ }} may name it "
                         "(a CI step that pastes a branch's name into a shell would run `$(...)` in it)",
                         hint="name the branch in the runbook's `branch:` (or --branch) like agentbook/NAME/ID")
    why = _reads_as_another(repo, name)
    if why is not None:
        raise FatalError(f"'{name}' cannot be the run's branch: {why}",
                         hint="name the branch in the runbook's `branch:` (or --branch) like agentbook/NAME/ID")


def _reads_as_another(repo: Repo, name: str) -> str | None:
    """Why `name` as a branch would read as (or look like) another ref or object, or None."""
    if not _PLAIN.fullmatch(name):
        return "only printable ASCII may name it (no control, right-to-left or look-alike character)"
    parts = name.split("/")
    if parts[0] in REF_FOLDERS:
        return f"it starts with git's ref folder '{parts[0]}/'"
    if any(_SPECIAL.fullmatch(p) for p in parts) or name == "@":
        return "git reads HEAD, @ and *_HEAD as special refs"
    if _OBJECT_ID.fullmatch(name):
        return "it reads as an abbreviated commit id"
    if parts[0] in repo.git.out("remote").split():
        return f"it starts with the remote's name '{parts[0]}/', so it would shadow the remote's branches"
    if repo.git.ok("rev-parse", "--verify", "--quiet", f"{name}^{{object}}") and \
            repo.git.out("rev-parse", "--symbolic-full-name", name) != f"refs/heads/{name}":
        return "it already names another ref or an object"
    return None


def unique_branch(repo: Repo, name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """`name`, or `name-2`, `name-3`, ... the first not already a branch (nor in `taken`)."""
    check_branch_name(repo, name)
    candidate, n = name, 1
    while branch_exists(repo, candidate) or candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate
