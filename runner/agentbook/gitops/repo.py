"""Questions about the main checkout, asked before a run starts (pre-flight), and its layout.

Each check raises `FatalError` with a message a user can act on, before any model call.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from agentbook.errors import FatalError
from agentbook.fsutil import file_lock
from agentbook.gitops.git import Git

STATE_DIR = ".agentbook"  # runs, worktrees and locks live here, inside the repo but never tracked


@dataclass(frozen=True)
class Repo:
    """A main checkout: its top-level directory and its shared git directory."""

    root: Path
    common_dir: Path

    @property
    def git(self) -> Git:
        return Git(self.root)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def lock_path(self) -> Path:
        # In the shared git dir so every worktree of this repository contends for the same lock.
        return self.common_dir / "agentbook.lock"


def open_repo(path: Path | str) -> Repo:
    """The repository containing `path`; its main checkout even when `path` is inside a worktree."""
    p = Path(path).resolve()
    if not p.exists():
        raise FatalError(f"no such directory: {p}", hint="pass --repo PATH to a git checkout")
    g = Git(p if p.is_dir() else p.parent)
    common = g.out("rev-parse", "--path-format=absolute", "--git-common-dir")
    if not common:
        raise FatalError(f"not a git repository: {p}", hint="run inside a git checkout or pass --repo")
    if g.out("rev-parse", "--is-bare-repository") == "true":
        raise FatalError(f"{p} is a bare repository", hint="pass --repo PATH to a checkout")
    common_dir = Path(common)
    toplevel = Git(common_dir.parent).out("rev-parse", "--show-toplevel") if common_dir.name == ".git" else ""
    root = Path(toplevel or g.run("rev-parse", "--show-toplevel").strip())
    return Repo(root=root.resolve(), common_dir=common_dir.resolve())


def check_state_folder(root: Path) -> Path:
    """`root/.agentbook` (where runs and worktrees live), refused when it, `runs` or `worktrees` in it is a
    link or not a folder: the repository is the ticket author's to write, and a committed `.agentbook ->
    /some/host/folder` had the runner, as root, write its records and check out worktrees there."""
    state = root / STATE_DIR
    for path in (state, state / "runs", state / "worktrees"):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(mode):
            what = "a link" if stat.S_ISLNK(mode) else "not a folder"
            raise FatalError(f"{path} is {what}: agentbook keeps its runs and worktrees there",
                             hint="remove it (a repository must not commit .agentbook/)")
    return state


def check_state_untracked(repo: Repo) -> None:
    """No file under `.agentbook/` is committed: forged run records (`runs list`, `runs show`, a resume's
    options) or a link among them would be the repository's, not the runner's."""
    tracked = repo.git.out("ls-files", "-z", "--", f"{STATE_DIR}/", f"{STATE_DIR}")
    if tracked:
        raise FatalError(f"the repository commits {STATE_DIR}/{tracked.split(chr(0))[0].partition('/')[2]}: "
                         "agentbook keeps its runs and worktrees there",
                         hint=f"remove {STATE_DIR}/ from the repository (git rm -r --cached {STATE_DIR})")


def ensure_state_ignored(repo: Repo) -> None:
    """List `.agentbook/` in `.git/info/exclude` so run state never shows as untracked in main."""
    exclude = repo.common_dir / "info" / "exclude"
    line = f"/{STATE_DIR}/"
    with file_lock(repo.lock_path):
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if line in text.splitlines():
            return
        exclude.parent.mkdir(parents=True, exist_ok=True)
        sep = "" if not text or text.endswith("\n") else "\n"
        exclude.write_text(f"{text}{sep}{line}\n", encoding="utf-8")


def current_branch(repo: Repo) -> str | None:
    """The branch checked out in the main checkout, or None when HEAD is detached."""
    name = repo.git.out("symbolic-ref", "--quiet", "--short", "HEAD")
    return name or None


def resolve_base(repo: Repo, base: str | None) -> tuple[str, str]:
    """(name, commit sha) of the base: `base` if given, else the checked-out branch."""
    if base is None:
        branch = current_branch(repo)
        if branch is None:
            raise FatalError("HEAD is detached in the main checkout",
                             hint="check out a branch or pass --base REF")
        base = branch
    sha = repo.git.out("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if not sha:
        raise FatalError(f"base ref '{base}' does not exist",
                         hint="pass --base with an existing branch, tag or commit")
    return base, sha


def check_clean(repo: Repo) -> None:
    """Tracked changes in the main checkout stop a run: the user may think they are included."""
    status = repo.git.run("status", "--porcelain", "--untracked-files=no", "--ignore-submodules=all")
    lines = [ln for ln in status.splitlines() if ln.strip()]
    if lines:
        shown = ", ".join(ln[3:] for ln in lines[:5]) + (" ..." if len(lines) > 5 else "")
        raise FatalError(f"the main checkout has uncommitted changes: {shown}",
                         hint="commit or stash them first; runs start from a commit, not the working tree")


def identity(repo: Repo) -> tuple[str, str]:
    """(name, email) git will commit with; FatalError when none is configured."""
    name = os.environ.get("GIT_AUTHOR_NAME") or repo.git.out("config", "user.name")
    email = os.environ.get("GIT_AUTHOR_EMAIL") or repo.git.out("config", "user.email")
    if not name or not email:
        missing = " and ".join(k for k, v in (("user.name", name), ("user.email", email)) if not v)
        verb = "are" if " and " in missing else "is"
        raise FatalError(f"no git identity: {missing} {verb} not set",
                         hint='run git config user.name "..." and git config user.email "..."')
    return name, email


_REMOTE_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def remote_url(repo: Repo, remote: str) -> str:
    if not _REMOTE_RE.match(remote):
        raise FatalError(f"invalid remote name '{remote}'")
    url = repo.git.out("remote", "get-url", remote)
    if not url:
        raise FatalError(f"no remote named '{remote}'", hint="git remote -v lists the remotes")
    return url
