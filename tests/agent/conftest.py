"""Agent-engine fixtures: the runner's 4-step repo (tests/runner/data) and the pinned Claude Code."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

RUNNER_DATA = Path(__file__).parent.parent / "runner" / "data"
DATA = Path(__file__).parent / "data"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def four_repo(git_repo: Path) -> Path:
    """`git_repo` plus runbooks/four-steps.md and skills/note-style, committed on main."""
    (git_repo / "runbooks").mkdir()
    shutil.copy(RUNNER_DATA / "four-steps.md", git_repo / "runbooks" / "four-steps.md")
    skill = git_repo / "skills" / "note-style"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: note-style\ndescription: How to write a short note.\n---\n"
                                    "Keep each note to one line.\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "add runbook")
    return git_repo


# -- the real Claude Code, pinned, installed from npm into a cache by the tests themselves ---------------

CLAUDE_VERSION = "2.1.328"
CLAUDE_PACKAGE = f"@anthropic-ai/claude-code@{CLAUDE_VERSION}"


def claude_cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "agentbook-test" / f"claude-code-{CLAUDE_VERSION}"


def install_claude() -> tuple[Path | None, str]:
    """(the pinned `claude`, "") once installed, else (None, why not). One install per machine: a lock
    keeps parallel test workers from racing npm into the same folder."""
    cache = claude_cache()
    binary = cache / "node_modules" / ".bin" / "claude"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            npm = shutil.which("npm")
            if npm is None:
                return None, "npm is not installed (Claude Code comes from the npm registry)"
            try:
                proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache), CLAUDE_PACKAGE],
                                      capture_output=True, text=True, timeout=900, check=False)
            except subprocess.TimeoutExpired:
                return None, f"npm install {CLAUDE_PACKAGE} timed out (registry unreachable?)"
            if proc.returncode != 0 or not binary.exists():
                return None, f"npm install {CLAUDE_PACKAGE} failed: {(proc.stderr or proc.stdout)[-300:]}"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False)
    if CLAUDE_VERSION not in version.stdout:
        return None, f"{binary} --version says {version.stdout.strip()!r}, not {CLAUDE_VERSION}"
    return binary, ""


@pytest.fixture(scope="session")
def claude_binary() -> Path:
    binary, why = install_claude()
    if binary is None:
        pytest.skip(why)
    return binary


@pytest.fixture
def claude(claude_binary: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pinned Claude Code for `--agent claude-code`, and the sandbox it must run in."""
    from agentbook.session.sandbox import bwrap_works

    if not bwrap_works():
        pytest.skip("bubblewrap cannot create namespaces here: the claude-code agent refuses to run unconfined")
    monkeypatch.setenv("AGENTBOOK_CLAUDE", str(claude_binary))
    return claude_binary
