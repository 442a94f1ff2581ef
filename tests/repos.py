"""Repositories the runner and agent-engine tests share: built on `git_repo` (tests/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
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


# -- runs killed and resumed (tests/runner/test_resume.py, tests/agent/test_claude_code_resume.py) --------

def agentbook(repo: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN")}
    return subprocess.Popen([sys.executable, "-m", "agentbook", *args], cwd=repo, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def commits(repo: Path, branch: str, run_id: str) -> list[tuple[str, str]]:
    """(tree, message with the run id blanked) of each commit on the branch, oldest first."""
    out = git(repo, "log", "--reverse", "--format=%T%x00%B%x1e", f"main..{branch}")
    pairs = [e.strip("\n").split("\x00", 1) for e in out.split("\x1e") if e.strip()]
    return [(tree, msg.replace(run_id, "RUN")) for tree, msg in pairs]


def wait_for_step(run_dir: Path, index: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, f"runner exited early: {proc.communicate()}"
        try:
            record = json.loads((run_dir / "run.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            record = None
        if record and record["steps"][index]["status"] == "running":
            return
        time.sleep(0.02)
    raise AssertionError(f"step {index + 1} never started")
