"""A repository's skill folder, installed into Claude Code's home (which the jailed agent reads). The
runner copied it following symlinks: `env -> /proc/self/environ` put the runner's own environment (its
API key, the GitHub token) inside the jail, a link to any file the runner can read did the same with that
file, a fifo blocked the run for good and `/dev/zero` filled the disk. Now only the folder's regular
files are copied, none through a link. The agent is the real Claude Code, scripted through the relay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import make_repo
from test_agent_skill_frontmatter import RUNBOOK, claude  # noqa: F401 - the fixture

from agentbook.cli import main

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
    script = tmp_path / "agent.script.yaml"
    script.write_text(yaml.safe_dump({"version": 1, "model": "claude-haiku-4-5", "sessions": [
        {"name": "note", "match": {"system": 'agentbook runbook "probe"'},
         "turns": [{"tool_use": {"name": "Write", "input": {"file_path": "note.txt", "content": "Do it.\n"}}},
                   {"text": "Wrote note.txt."}]}]}))
    code = main(["run", "probe", "--repo", str(repo), "--model", f"scripted:{script}", "--agent", "claude-code",
                 "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    home = Path(json.loads(out)["run_dir"]) / "agent-home"
    installed = home / ".claude" / "skills" / "note-style"
    assert sorted(p.name for p in installed.iterdir()) == ["SKILL.md", "example.md"]
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), path
