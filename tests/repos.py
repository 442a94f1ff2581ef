"""Repositories the runner and agent-engine tests share: built on `git_repo` (tests/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

RUNNER_DATA = Path(__file__).parent / "runner" / "data"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def add_four_steps(repo: Path, *, notes: bool = False) -> Path:
    """runbooks/four-steps.md and skills/note-style (and notes/source.md if asked), committed on main."""
    (repo / "runbooks").mkdir()
    shutil.copy(RUNNER_DATA / "four-steps.md", repo / "runbooks" / "four-steps.md")
    skill = repo / "skills" / "note-style"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: note-style\ndescription: How to write a short note.\n---\n"
                                    "Keep each note to one line.\n")
    if notes:
        (repo / "notes").mkdir()
        (repo / "notes" / "source.md").write_text("quote me\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add runbook")
    return repo
