"""Attacks on the root's own git data: `agentbook session --root` on a plain checkout (not a run's
worktree, whose git data lies outside the root) showed `.git/config` to the agent, and a checkout keeps
credentials there: actions/checkout writes the job's token as `http.<url>.extraheader`, a clone by URL
keeps `https://x-access-token:TOKEN@github.com/...` as the remote. Neither the agent's bash, nor its
read/grep/glob tools, nor a gate may show it (by name, through a symlink the agent plants, or through
a `gitdir:` file). Inside the jail `git log`, `git status` and `git diff` still work: they see a
read-only view of the git folder that holds no config but its format keys and no file not named."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_kit import SECRETS, bash, ctx_for, make_root, needs_jail, no_secret

from agentbook.cli import main
from agentbook.runbooks.gates import run_gate
from agentbook.session.paths import PathRefused, resolve_in_root

pytestmark = needs_jail

TOKEN = SECRETS["GITHUB_TOKEN"]
HEADER = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def _checkout(tmp_path: Path) -> Path:
    """A plain checkout whose config holds the job's token the way CI leaves it."""
    root = make_root(tmp_path)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for key, value in (("http.https://github.com/.extraheader", f"AUTHORIZATION: basic {HEADER}"),
                       ("remote.origin.url", f"https://x-access-token:{TOKEN}@github.com/o/r.git")):
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
    (root / ".git" / "credentials").write_text(f"https://x-access-token:{TOKEN}@github.com\n")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the first commit"], check=True)
    (root / "README.md").write_text("# changed by the agent\n")
    return root


def _leaks(text: str) -> bool:
    return TOKEN in text or HEADER in text or "extraheader" in text


@pytest.mark.timeout(180)
def test_a_session_on_a_plain_checkout_never_shows_its_git_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)  # the token is on disk only, where CI leaves it
    root = _checkout(tmp_path)
    commands = ["cat .git/config .git/credentials; ls -la .git; echo listed",
                "git config --list; git remote -v; git log --oneline; git status --short; git diff --stat; echo asked",
                "ln -s .git/config cfg; ln -s .git gitlink; cat cfg gitlink/config; echo linked",
                "grep -r x-access-token . ; echo grepped"]
    turns = [{"tool_use": {"name": "bash", "input": {"command": c}}} for c in commands]
    turns += [{"tool_use": {"name": "read", "input": {"path": path}}}
              for path in (".git/config", "./src/../.git/credentials", "cfg", "gitlink/config", f"{root}/.git/config")]
    turns += [{"tool_use": {"name": "grep", "input": {"pattern": "access", "path": path}}} for path in (".git", ".")]
    turns += [{"tool_use": {"name": "glob", "input": {"pattern": "**/config", "path": path}}} for path in (".git", ".")]
    turns += [{"text": "Done."}]
    script = tmp_path / "agent.script.yaml"
    script.write_text(yaml.safe_dump({"version": 1, "model": "scripted", "sessions": [
        {"name": "attack", "match": {"first_user": "attack"}, "turns": turns}]}))
    code = main(["session", "--model", f"scripted:{script}", "--root", str(root), "--out", str(tmp_path / "out"),
                 "--max-tool-errors", "50", "--json", "attack"])
    printed = capsys.readouterr()
    assert not _leaks(printed.out + printed.err)
    data = json.loads(printed.out)
    assert code == 0 and data["outcome"]["kind"] == "completed" and data["sandbox"] == "bwrap"
    transcript = Path(data["transcript_path"]).read_text()
    assert not _leaks(transcript)
    results = [json.loads(line)["content"] for line in transcript.splitlines() if '"event": "tool"' in line]
    assert len(results) == len(turns) - 1
    assert "listed" in results[0] and "asked" in results[1] and "linked" in results[2] and "grepped" in results[3]
    assert "core.repositoryformatversion=0" in results[1] and "the first commit" in results[1]
    assert "M README.md" in results[1] and "1 file changed" in results[1]  # the agent's git still works
    assert ".git/credentials: No such file or directory" in results[0]  # a file not named is not there
    for result in results[4:9]:
        assert "git's own data is not shown to the agent" in result, result
    assert "git's own data is not shown" in results[9] and "git's own data is not shown" in results[11]
    assert (root / ".git" / "config").read_text().count("extraheader") == 1  # the real one is untouched


def test_a_gate_and_a_gitdir_file_inside_the_root_show_nothing(tmp_path: Path) -> None:
    """A gate runs the agent's code in the same jail; and a checkout made with --separate-git-dir keeps
    its data wherever the `gitdir:` line says, here inside the root."""
    root = _checkout(tmp_path)
    gate = run_gate("cat .git/config; git config --list; echo ran", root, protected=[])
    assert "ran" in gate.output and "repositoryformatversion" in gate.output and not _leaks(gate.output)
    (root / ".git").rename(root / "data")
    (root / ".git").write_text("gitdir: data\n")
    ran = bash(ctx_for(root), "cat data/config .git; git config --list; echo ran")
    assert "ran" in ran.content and not _leaks(ran.content)
    with pytest.raises(PathRefused, match="git's own data"):
        resolve_in_root(root, "data/config")
    no_secret(ran.content + gate.output)
