"""Fixtures for the release tests: a snapshot of this checkout as its own git repository (so a build
from it knows its commit), and a fresh virtual environment outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# What pip prints when it cannot reach the package index (or a build backend is not in its cache).
OFFLINE = ("NewConnectionError", "No matching distribution", "Could not find a version", "Temporary failure in name")


def repository_url() -> str:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["urls"]["Repository"])


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                           *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class Snapshot:
    root: Path
    commit: str


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """The checkout's files as git sees them (tracked and new, not ignored), committed in a repository
    of their own: what a clone of this work would hold, uncommitted edits included."""
    root = tmp_path_factory.mktemp("snapshot") / "agentbook"
    listed = git(REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        src = REPO_ROOT / name
        if src.is_file() and not src.is_symlink():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / name)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "snapshot")
    return Snapshot(root, git(root, "rev-parse", "HEAD").strip())


def fresh_venv(path: Path) -> Path:
    """A virtual environment with nothing in it (this interpreter's pip installs into it); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def pip_install(python: Path, *args: str) -> None:
    """`pip install ARGS` into the environment of `python`; skips the test when the index is out of reach."""
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile", *args],
                          capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0 and any(mark in done.stderr for mark in OFFLINE):
        pytest.skip(f"the package index is not reachable: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr


def clean_env(home: Path, venv_bin: Path) -> dict[str, str]:
    """The environment of a user who installed agentbook: its venv first on PATH, nothing of ours."""
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": f"{venv_bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1"}
