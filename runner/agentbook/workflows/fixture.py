"""A fresh git repository made from a folder: what a runbook test or the demo runs on."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import agentbook
from agentbook.errors import FatalError
from agentbook.gitops.git import Git

# Never copied: VCS data, run state and caches a previous use of the folder left behind.
SKIP = (".git", ".agentbook", "__pycache__", "*.pyc", "*.tmp", ".pytest_cache", ".mypy_cache")
IDENTITY = (("user.name", "agentbook fixture"), ("user.email", "fixture@agentbook.invalid"),
            ("commit.gpgsign", "false"))


def source_root() -> Path | None:
    """agentbook's source checkout (where `examples/` and `tests/runbooks/` live), if there is one."""
    root = Path(agentbook.__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "examples").is_dir() else None


def example_dir(name: str = "incident-assistant") -> Path:
    root = source_root()
    path = root / "examples" / name if root else None
    if path is None or not path.is_dir():
        raise FatalError(f"the example system '{name}' is not available",
                         hint="it ships with agentbook's source checkout: clone the repository and run "
                              "`make demo` there")
    return path


def make_repo(src: Path, dest: Path, setup: list[str] | None = None,
              message: str = "fixture: initial commit") -> Path:
    """Copy `src` to `dest`, run each `setup` command in the copy, then `git init` and commit all.

    `python` at the start of a setup command means this interpreter, so scripts see the same
    packages agentbook does.
    """
    if not src.is_dir():
        raise FatalError(f"fixture folder not found: {src}")
    if dest.exists() and any(dest.iterdir()):
        raise FatalError(f"fixture destination is not empty: {dest}")
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*SKIP), dirs_exist_ok=True)
    for command in setup or []:
        _setup(command, dest)
    git = Git(dest)
    git.run("init", "-q", "-b", "main")
    for key, value in IDENTITY:
        git.run("config", key, value)
    _track_generated(dest)
    git.run("add", "-A")
    git.run("commit", "-q", "--no-verify", "-m", message)
    return dest


def _setup(command: str, cwd: Path) -> None:
    argv = shlex.split(command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise FatalError(f"fixture setup command failed (exit {proc.returncode}): {command}",
                         hint="\n".join(tail) or None)


def _track_generated(dest: Path) -> None:
    """A setup step may generate files the source folder git-ignores (the example's 5 MB suite):
    in the copy they are ordinary tracked files, so drop ignore lines that name an existing path."""
    ignore = dest / ".gitignore"
    if not ignore.is_file():
        return
    keep = [line for line in ignore.read_text(encoding="utf-8").splitlines()
            if not (line.startswith("/") and (dest / line.lstrip("/")).exists())]
    ignore.write_text("\n".join(keep) + "\n", encoding="utf-8")
