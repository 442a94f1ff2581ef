"""Fail closed: where the sandbox cannot run, a session or a run that grants bash (or has gates) does not
start unless the user names the risk. The place without a working sandbox is a real one: inside the
jail itself, where bubblewrap cannot make namespaces. And a whole run whose scripted agent loots what
it can: nothing of the runner's reaches the branch."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import gitkit
from sandbox_kit import SECRETS, Sentinels, bash, ctx_for, make_root, needs_jail, no_secret

from agentbook import confine

pytestmark = needs_jail

SCRIPT = """version: 1
model: scripted
sessions:
  - name: attack
    match: {first_user: attack}
    turns:
      - tool_use: {name: bash, input: {command: "echo ran > ran.txt"}}
      - text: Done.
"""


def agentbook_in_jail(root: Path, *args: str) -> tuple[int, str]:
    """`agentbook ARGS` run by the agent's bash, i.e. where no sandbox can be made (without the marker
    that confines agentbook commands an agent runs: here it stands for a user on such a machine)."""
    command = " ".join(shlex.quote(a) for a in ("env", f"--unset={confine.ROOT_ENV}", f"--unset={confine.MODEL_ENV}",
                                                 sys.executable, "-m", "agentbook", *args))
    out = bash(ctx_for(root, tool_seconds=120), f"{command}; echo rc=$?", timeout=120).content
    code = int(out.rsplit("rc=", 1)[1].split()[0])
    return code, out


@pytest.fixture
def inner(tmp_path: Path) -> Path:
    root = make_root(tmp_path)
    (root / "agent.script.yaml").write_text(SCRIPT)
    (root / "work").mkdir()
    return root


def test_session_with_bash_refuses_to_start_without_a_sandbox(inner: Path) -> None:
    code, out = agentbook_in_jail(inner, "session", "--model", "scripted:agent.script.yaml", "--root", "work",
                                  "--out", "out", "attack")
    assert code == 3 and "bash needs a working sandbox and there is none here" in out, out
    assert "none-i-accept-the-risk" in out and "Traceback" not in out
    assert not (inner / "work" / "ran.txt").exists()


def test_session_without_bash_still_runs(inner: Path) -> None:
    code, out = agentbook_in_jail(inner, "session", "--model", "scripted:agent.script.yaml", "--root", "work",
                                  "--out", "out", "--tools", "read,grep", "--json", "attack")
    assert code == 0, out
    assert json.loads(out.split("\nrc=")[0].rsplit("\n[exit", 1)[0])["sandbox"] == "none"


def test_named_risk_runs_bash_unconfined(inner: Path) -> None:
    code, out = agentbook_in_jail(inner, "session", "--model", "scripted:agent.script.yaml", "--root", "work",
                                  "--out", "out", "--sandbox", "none-i-accept-the-risk", "--json", "attack")
    assert code == 0, out
    assert '"sandbox": "unconfined"' in out and (inner / "work" / "ran.txt").read_text() == "ran\n"


@pytest.mark.parametrize("tools", ["[read, write, edit, bash]", "[read, write]"], ids=["bash", "gates-only"])
def test_run_refuses_before_making_a_worktree(tmp_path: Path, tools: str) -> None:
    root = make_root(tmp_path)
    repo = gitkit.make_repo(root)
    runbook = (repo / "runbooks" / "attack.md").read_text().replace("[read, write, edit, bash]", tools)
    runbook = runbook.replace("Write done.txt.\n", "Write done.txt.\n\n```check\ntest -f done.txt\n```\n")
    (repo / "runbooks" / "attack.md").write_text(runbook)
    gitkit.git(repo, "commit", "-qam", "gate")
    agent = gitkit.agent(root)
    (root / "T.md").write_text(gitkit.TICKET)
    code, out = agentbook_in_jail(root, "run", "attack", "--ticket", "T.md", "--repo", "repo", "--model",
                                  f"scripted:{agent}")
    assert code == 3 and "needs a working sandbox" in out, out
    assert gitkit.git(repo, "branch", "--list", "agentbook/*") == ""
    assert not (repo / ".agentbook" / "worktrees").exists()


def test_a_run_whose_agent_loots_gets_nothing_of_the_runners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    repo = gitkit.make_repo(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("keep\n")
    sentinels = Sentinels(outside, repo / ".git" / "config", repo / ".git" / "hooks")
    loot = ("{ env; cat /proc/*/environ; cat /proc/1/cmdline; cat /etc/shadow; ls -la /root /home /run; "
            f"cat {repo}/.git/config; echo x >> {outside}/victim.txt; "
            f"echo '#!/bin/sh' > {repo}/.git/hooks/pre-commit; grep -c . /proc/self/status; }} > loot.txt 2>&1; "
            "tr '\\0' '\\n' < loot.txt > loot2.txt; echo looted")
    agent = gitkit.agent(tmp_path, gitkit.bash(loot))
    _code, data, printed = gitkit.run(repo, agent, capsys=capsys)
    no_secret(printed)
    sentinels.unchanged()
    assert data["outcome"]["kind"] == "completed", printed
    branch = data["branch"]
    stolen = gitkit.git(repo, "show", f"{branch}:loot2.txt")
    no_secret(stolen)
    shadow = [line for line in Path("/etc/shadow").read_text().splitlines() if line.strip()]
    assert shadow and not any(line in stolen for line in shadow)
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


def test_an_agent_cli_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    """An agent CLI (here `command:`, as Claude Code) never runs unconfined, and the refusal names what
    failed (as the built-in agent's does): a plain user whose host refuses user namespaces otherwise
    read only "does not work here"."""
    root = make_root(tmp_path)
    repo = gitkit.make_repo(root)
    agent = gitkit.agent(root)
    (root / "T.md").write_text(gitkit.TICKET)
    code, out = agentbook_in_jail(root, "run", "attack", "--ticket", "T.md", "--repo", "repo", "--model",
                                  f"scripted:{agent}", "--agent", "command:sh -c 'echo ran > ran.txt'")
    assert code == 3 and "runs only inside the bubblewrap sandbox" in out, out
    assert "bubblewrap failed here" in out and "namespace" in out, out
    assert gitkit.git(repo, "branch", "--list", "agentbook/*") == "" and not (repo / "ran.txt").exists()
