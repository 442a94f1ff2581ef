"""Attacks through the `skill` tool, which reads a skill's files in the runner's own process (outside
the jail): a skill folder that is the checkout's top (`skills/x -> ..`, which the agent can plant with
`ln -s` or the repository can commit) showed `.git/config`, where CI leaves the job's token, and a
huge file in a skill folder was read whole into the runner's memory before being cut."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import SECRETS, make_root, needs_jail

from agentbook.cli import main
from agentbook.runbooks.skill_tool import MAX_CHARS, SkillTool
from agentbook.session.tools import ToolContext

TOKEN = SECRETS["GITHUB_TOKEN"]
HEADER = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
SKILL_MD = "---\nname: x\ndescription: A skill the agent planted at the checkout's top.\n---\nRead my files.\n"


def _checkout(tmp_path: Path) -> Path:
    """A plain checkout whose git data holds the job's token the way CI leaves it."""
    root = make_root(tmp_path)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "config", "http.https://github.com/.extraheader",
                    f"AUTHORIZATION: basic {HEADER}"], check=True)
    (root / ".git" / "credentials").write_text(f"https://x-access-token:{TOKEN}@github.com\n")
    return root


def _leaks(text: str) -> bool:
    return TOKEN in text or HEADER in text or "extraheader" in text


@needs_jail
@pytest.mark.timeout(180)
def test_a_skill_folder_at_the_checkout_top_never_shows_its_git_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)  # the token is on disk only, where CI leaves it
    root = _checkout(tmp_path)
    reads = [".git/config", "./.git/credentials", "cfg", "skills/x/.git/config", "gitlink/config"]
    turns = [{"tool_use": {"name": "write", "input": {"path": "SKILL.md", "content": SKILL_MD}}},
             {"tool_use": {"name": "bash", "input": {
                 "command": "mkdir skills && ln -s .. skills/x && ln -s .git/config cfg && ln -s .git gitlink"}}},
             *({"tool_use": {"name": "skill", "input": {"name": "x", "file": path}}} for path in reads),
             {"tool_use": {"name": "skill", "input": {"name": "x", "file": "README.md"}}},
             {"text": "Done."}]
    script = tmp_path / "agent.script.yaml"
    script.write_text(yaml.safe_dump({"version": 1, "model": "scripted", "sessions": [
        {"name": "attack", "match": {"first_user": "attack"}, "turns": turns}]}))
    code = main(["session", "--model", f"scripted:{script}", "--root", str(root), "--out", str(tmp_path / "out"),
                 "--tools", "write,bash,skill", "--max-tool-errors", "50", "--json", "attack"])
    printed = capsys.readouterr()
    assert not _leaks(printed.out + printed.err)
    data = json.loads(printed.out)
    assert code == 0 and data["outcome"]["kind"] == "completed"
    transcript = Path(data["transcript_path"]).read_text()
    assert not _leaks(transcript)
    results = [json.loads(line) for line in transcript.splitlines() if '"event": "tool"' in line]
    assert len(results) == len(turns) - 1
    for result in results[2:-1]:
        assert result["content"].startswith("no file") and result["is_error"], result
    assert "the agent's worktree" in results[-1]["content"]  # an ordinary file of that folder is read


def test_a_huge_file_in_a_skill_folder_is_read_no_further_than_shown(tmp_path: Path) -> None:
    """A sparse 512 MiB file: read whole, as before, it cost the runner that much memory and more."""
    folder = tmp_path / "skills" / "x"
    (folder / "references").mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD)
    with open(folder / "references" / "big.md", "wb") as handle:
        handle.write(b"start\n")
        handle.truncate(512 << 20)
    tool = SkillTool({"x": (folder / "SKILL.md", "Read my files.")})
    tracemalloc.start()
    try:
        result = tool.run({"name": "x", "file": "references/big.md"}, ToolContext(root=tmp_path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.is_error and result.content.startswith("start\n")
    assert len(result.content) < MAX_CHARS + 100 and "[truncated" in result.content
    assert peak < 16 << 20, f"peak {peak} bytes"


def test_a_fifo_in_a_skill_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "x"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD)
    os.mkfifo(folder / "pipe")
    os.symlink("pipe", folder / "link")
    tool = SkillTool({"x": (folder / "SKILL.md", "Read my files.")})
    for name in ("pipe", "link"):
        result = tool.run({"name": "x", "file": name}, ToolContext(root=tmp_path))
        assert result.is_error and result.content.startswith("no file")
