"""A repository's skill folder, installed into Claude Code's home (which the jailed agent reads). The
runner copied it following symlinks: `env -> /proc/self/environ` put the runner's own environment (its
API key, the GitHub token) inside the jail, a link to any file the runner can read did the same with that
file, a fifo blocked the run for good and `/dev/zero` filled the disk. Now only the folder's regular
files are copied, none through a link. The agent is the real Claude Code, scripted through the relay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import make_repo
from test_agent_skill_frontmatter import RUNBOOK, claude, run_probe  # noqa: F401 - claude: the fixture

SECRET = "sk-ant-api03-skill-folder-must-not-carry-this"
SKILL = "---\nname: note-style\ndescription: How notes are written here.\n---\n# Notes\n\nBe brief.\n"


@pytest.mark.timeout(300)  # before the fix the fifo blocked the run for good
def test_a_skill_folders_links_and_specials_are_not_copied_into_the_agents_home(
        claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AGENTBOOK_CLAUDE", str(claude))
    repo = make_repo(tmp_path)
    skill = repo / "skills" / "note-style"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL)
    (skill / "example.md").write_text("an example note\n")
    (tmp_path / "outside.txt").write_text(SECRET)
    (skill / "leak.md").symlink_to(tmp_path / "outside.txt")
    (skill / "env").symlink_to("/proc/self/environ")
    (skill / "zero").symlink_to("/dev/zero")
    (skill / "refs").symlink_to(tmp_path)  # a folder outside
    (repo / "runbooks" / "probe.md").write_text(RUNBOOK)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "a skill"], check=True)
    os.mkfifo(skill / "pipe")  # git keeps no fifo: only a checkout has one
    data = run_probe(repo, tmp_path, capsys)
    home = Path(data["run_dir"]) / "agent-home"
    installed = home / ".claude" / "skills" / "note-style"
    assert sorted(p.name for p in installed.iterdir()) == ["SKILL.md", "example.md"]
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), path
