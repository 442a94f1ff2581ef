"""Keeping `agentbook` commands an agent runs inside its session: one root, one model.

A runbook may let the agent run `agentbook eval *` or `agentbook trace *` through bash. Without more,
such a command could write anywhere the runner can (`trace export T /outside`), edit any suite
(`eval edit /outside/suite.yaml`) or call any server (`eval run --model compat:http://host#m`). The
runner marks the environment of every command it runs for an agent (`sandbox.clean_env`):

- `AGENTBOOK_CONFINE_ROOT=<root>`: every path a command reads or writes must resolve (symlinks
  followed) inside this folder;
- `AGENTBOOK_CONFINE_MODEL=<spec>`: the only model besides `scripted:` files inside the root.

The in-process `eval` tool applies the same `Confinement`, built from its session's root and model.
A marker that names a folder that does not exist confines to nothing: every path is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from agentbook.errors import FatalError
from agentbook.records import FrozenRecord

ROOT_ENV = "AGENTBOOK_CONFINE_ROOT"
MODEL_ENV = "AGENTBOOK_CONFINE_MODEL"


class ConfinementError(FatalError):
    """A path or model outside what the session may reach."""


class Confinement(FrozenRecord):
    __slots__ = ("model", "root")
    root: Path  # already resolved
    model: str | None

    def __init__(self, root: Path, model: str | None = None) -> None:
        self._set(root=root, model=model)

    def check_path(self, path: Path | str, what: str = "path") -> Path:
        """`path` with symlinks resolved, or ConfinementError when that lands outside the root."""
        real = Path(os.path.realpath(path))
        if not is_within(real, self.root):
            raise ConfinementError(f"{what} {path} is outside the session root {self.root}",
                                   hint="inside a session, agentbook reads and writes only below its root")
        return real

    def check_model(self, spec: str) -> None:
        """Only the session's own model, or a scripted model whose script lies inside the root."""
        if self.model is not None and spec == self.model:
            return
        if spec.startswith("scripted:"):
            self.check_path(spec.removeprefix("scripted:").split("?", 1)[0], "model script")
            return
        allowed = f"the session's model {self.model!r} or " if self.model else ""
        raise ConfinementError(f"model {spec!r} is not allowed inside a session",
                               hint=f"use {allowed}a scripted:FILE model inside the root")


def from_env() -> Confinement | None:
    """The confinement the runner set for this process, or None outside a session."""
    raw = os.environ.get(ROOT_ENV)
    if raw is None:
        return None
    model = os.environ.get(MODEL_ENV) or None
    root = Path(os.path.realpath(raw)) if raw and os.path.isdir(raw) else Path("/nonexistent/\x00confined")
    return Confinement(root, model)


def marker(root: Path, model: str | None = None) -> dict[str, str]:
    """The environment variables that confine `agentbook` commands run for an agent."""
    env = {ROOT_ENV: os.path.realpath(root)}
    if model:
        env[MODEL_ENV] = model
    return env


def check_path(path: Path | str, what: str = "path") -> Path:
    """`path` as given outside a session; inside one, refused unless it lies below the root."""
    confinement = from_env()
    return confinement.check_path(path, what) if confinement is not None else Path(path)


def check_model(spec: str) -> None:
    confinement = from_env()
    if confinement is not None:
        confinement.check_model(spec)


def is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def data_root(start: Path) -> Path:
    """The folder a suite's `file://` references must stay in: the session root inside a session,
    else the git work tree holding `start`, else `start`'s own folder."""
    confinement = from_env()
    if confinement is not None:
        return confinement.root
    here = Path(os.path.realpath(start))
    folder = here if here.is_dir() else here.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def check_ref(path: Path | str, root: Path, what: str) -> Path:
    """`path` resolved, refused when it leaves `root` (a `../`, an absolute path, a symlink out) or is git's
    own data there: a checkout keeps the job's token in `.git/config` (actions/checkout's extraheader, a
    remote URL), and a suite's `vars: {x: file://.git/config}` put it in the prompt, the grader's reason
    and the stored run, and in the agent's hands through the in-process `eval` tool."""
    real = Path(os.path.realpath(path))
    top = Path(os.path.realpath(root))
    if not is_within(real, top):
        raise ConfinementError(f"{what} {path} is outside {root}",
                               hint="a suite may only reference files inside its own repository (or session root)")
    if is_git_data(Path(os.path.normpath(Path(root) / path)), top) or is_git_data(real, top):
        raise ConfinementError(f"{what} {path} is git's own data (it may hold the checkout's credentials)",
                               hint="a suite may reference its repository's files, never what lies in a .git")
    return real


def is_git_data(path: Path, root: Path) -> bool:
    """`path` lies in a `.git` below `root` (any letter case: a nested repository's, a submodule's, by name)
    or where the root's `.git` leads to inside it (a symlink, a `gitdir:` file)."""
    from agentbook.session.paths import git_data_places

    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = path
    if any(part.casefold() == ".git" for part in rel.parts):
        return True
    return any(path == place or place in path.parents for place in git_data_places(root))
