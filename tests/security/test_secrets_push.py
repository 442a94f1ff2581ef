"""`--push` never sends a secret to the remote, like GitHub push protection: every blob, commit
message and the branch name a push would send is scanned first. A hit pushes nothing (the remote has
no ref and no object holding the key) and ends the run `blocked` with file:line and the secret's name,
never its value."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from gitkit import (
    ANTHROPIC_KEY,
    COMPAT_KEY,
    GITHUB_TOKEN,
    SECRETS,
    TICKET,
    agent,
    all_objects_text,
    bash,
    git,
    make_repo,
    run,
    set_secrets,
    write,
)


def b64(value: str, prefix: str = "") -> str:
    return base64.b64encode((prefix + value).encode()).decode()


def with_remote(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    return repo, bare


def assert_nothing_pushed(bare: Path, *forms: str) -> None:
    assert git(bare, "for-each-ref").strip() == ""
    objects = all_objects_text(bare)
    for form in forms:
        assert form not in objects


def assert_blocked(data: dict[str, Any], out: str, path: str, line: int, name: str, *forms: str) -> None:
    assert data["outcome"]["kind"] == "blocked" and data["outcome"]["reason"] == "secret", out
    found = [(f["path"], f["line"], f["secret"]) for f in data["outcome"]["evidence"]["secrets"]]
    assert (path, line, name) in found, found
    assert data["push"]["pushed"] is False
    for form in forms:
        assert form not in out


# The agent writes the key (the runner holds it all along): the commit scan stops it, so nothing exists
# to push. name -> (turns, the form as written, path, line, secret name)
IN_THE_WORK: dict[str, tuple[list[dict[str, Any]], str, str, int, str]] = {
    "plain": ([write("a.txt", f"{GITHUB_TOKEN}\n")], GITHUB_TOKEN, "a.txt", 1, "GITHUB_TOKEN"),
    "base64": ([write("b.txt", f"x\n{b64(ANTHROPIC_KEY, 'z')}\n")], b64(ANTHROPIC_KEY, "z"), "b.txt", 2,
               "ANTHROPIC_API_KEY"),
    "hex": ([write("c.txt", GITHUB_TOKEN.encode().hex())], GITHUB_TOKEN.encode().hex(), "c.txt", 1, "GITHUB_TOKEN"),
    "reversed": ([write("d.txt", GITHUB_TOKEN[::-1])], GITHUB_TOKEN[::-1], "d.txt", 1, "GITHUB_TOKEN"),
    "split": ([write("e.py", f'T = ("{GITHUB_TOKEN[:14]}"\n     "{GITHUB_TOKEN[14:]}")\n')], GITHUB_TOKEN, "e.py", 1,
              "GITHUB_TOKEN"),
    "UTF-16 behind .gitattributes": ([bash("printf '*.txt working-tree-encoding=UTF-16\\n' > .gitattributes && "
                                           f"printf 'k=%s\\n' '{GITHUB_TOKEN}' | iconv -t UTF-16 > f.txt")],
                                     GITHUB_TOKEN, "f.txt", 1, "GITHUB_TOKEN"),
    "AWS key shape": ([write("g.env", "AWS_ACCESS_KEY_ID=AKIAZXCVBNMASDFGHJKL\n")], "AKIAZXCVBNMASDFGHJKL", "g.env",
                      1, "AWS access key id"),
    "private key": ([write("id_rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n")], "BEGIN RSA PRIVATE", "id_rsa", 1,
                    "private key"),
}


@pytest.mark.parametrize("attack", sorted(IN_THE_WORK))
def test_push_sends_nothing_when_the_work_holds_a_secret(attack: str, tmp_path: Path, monkeypatch, capsys) -> None:
    turns, form, path, line, name = IN_THE_WORK[attack]
    set_secrets(monkeypatch)
    repo, bare = with_remote(tmp_path)
    code, data, out = run(repo, agent(tmp_path, *turns), "--push", capsys=capsys)
    assert code == 11, out
    assert_blocked(data, out, path, line, name, form)
    assert_nothing_pushed(bare, form)


def _without_secrets() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SECRETS}


def _kill_in_step_two(repo: Path, script: Path) -> str:
    """`agentbook run attack --push` in a process that holds no secret, killed -9 while step 2 waits
    for the model: step 1's commit is on the branch, nothing was pushed. Returns the run id."""
    ticket = repo.parent / "T.md"
    ticket.write_text(TICKET)
    proc = subprocess.Popen([sys.executable, "-m", "agentbook", "run", "attack", "--ticket", str(ticket), "--repo",
                             str(repo), "--model", f"scripted:{script}", "--push"], env=_without_secrets(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    runs = repo / ".agentbook" / "runs"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            for path in runs.glob("*/run.json") if runs.is_dir() else ():
                try:
                    record = json.loads(path.read_text())
                except ValueError:
                    continue
                if record["steps"][1]["status"] == "running":
                    return str(record["run_id"])
            time.sleep(0.02)
        raise AssertionError("step 2 never started")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


# Forms of AGENTBOOK_COMPAT_API_KEY (no key shape: a runner without the variable cannot know it)
COMMITTED_EARLIER = {
    "plain": (COMPAT_KEY, "k.txt", 1),
    "base64": (b64(COMPAT_KEY, "ab"), "k.txt", 1),
    "hex": (COMPAT_KEY.encode().hex(), "k.txt", 1),
    "reversed": (COMPAT_KEY[::-1], "k.txt", 1),
    "split": (f"{COMPAT_KEY[:12]}\\\n{COMPAT_KEY[12:]}", "k.txt", 1),
}


@pytest.mark.parametrize("form", sorted(COMMITTED_EARLIER))
def test_a_secret_committed_before_the_runner_held_it_is_not_pushed(form: str, tmp_path: Path, monkeypatch,
                                                                    capsys) -> None:
    """A run started where the key was not set (so its commit scan could not know it) and resumed
    where it is: the push scans every commit of the run, not only this process's, and sends nothing."""
    text, path, line = COMMITTED_EARLIER[form]
    repo, bare = with_remote(tmp_path)
    script = agent(tmp_path, write("k.txt", text + "\n"), {"text": "Step one done."},
                   {"text": "Done.", "latency_ms": 60000})
    run_id = _kill_in_step_two(repo, script)
    assert git(repo, "show", "agentbook/attack/7:k.txt") == text + "\n"  # step 1 committed it: nothing knew better
    set_secrets(monkeypatch)
    capsys.readouterr()
    fast = agent(tmp_path, write("k.txt", text + "\n"), {"text": "Step one done."}, {"text": "Done."})
    script.write_text(fast.read_text())
    from agentbook.cli import main
    code = main(["run", "--resume", run_id, "--repo", str(repo), "--json"])
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert code == 11, out + err
    assert_blocked(data, out + err, path, line, "AGENTBOOK_COMPAT_API_KEY", COMPAT_KEY, text)
    assert "nothing pushed" in data["outcome"]["message"]
    assert_nothing_pushed(bare, COMPAT_KEY, text)


TICKET_IDS = {
    "base64": (b64(COMPAT_KEY, "q"), "AGENTBOOK_COMPAT_API_KEY"),
    "reversed": (GITHUB_TOKEN[::-1], "GITHUB_TOKEN"),
    "cut short by the branch name's length cap": ("release-notes-for-" + GITHUB_TOKEN[4:], "GITHUB_TOKEN"),
    "hex, upper-case": (COMPAT_KEY.encode().hex().upper(), "AGENTBOOK_COMPAT_API_KEY"),
}


@pytest.mark.parametrize("attack", sorted(TICKET_IDS))
def test_a_ticket_id_holding_a_secret_never_becomes_a_branch(attack: str, tmp_path: Path, monkeypatch,
                                                            capsys) -> None:
    """The branch name comes from the ticket (the attacker's), lower-cased and cut to 48 characters: a
    held secret in it, whole or most of it, refuses the run before any branch, commit or push exists,
    and the message names the variable, not the value."""
    ticket_id, name = TICKET_IDS[attack]
    set_secrets(monkeypatch)
    repo, bare = with_remote(tmp_path)
    ticket = TICKET.replace("id: 7", f"id: '{ticket_id}'")
    code, _data, out = run(repo, agent(tmp_path, write("a.txt", "x\n")), "--push", ticket=ticket, capsys=capsys)
    assert code == 3, out
    assert name in out and "branch name would contain a secret" in out
    assert ticket_id.lower()[20:40] not in out.lower()
    assert git(repo, "branch", "--list", "agentbook/*").strip() == ""
    assert_nothing_pushed(bare, COMPAT_KEY)


def test_a_ticket_title_holding_a_secret_is_pushed_redacted(tmp_path: Path, monkeypatch, capsys) -> None:
    """The ticket's title goes into every commit message: the key it carries (here reversed) is
    redacted there, so the push goes out and the remote holds no copy of it."""
    set_secrets(monkeypatch)
    repo, bare = with_remote(tmp_path)
    ticket = TICKET.replace("title: Please fix the prompt", f"title: Use {GITHUB_TOKEN[::-1]} please")
    code, data, out = run(repo, agent(tmp_path, write("a.txt", "x\n")), "--push", ticket=ticket, capsys=capsys)
    assert code == 0, out
    assert data["push"]["pushed"] is True
    assert git(bare, "for-each-ref", "--format=%(refname)").strip() == "refs/heads/agentbook/attack/7"
    objects = all_objects_text(bare)
    assert "[REDACTED]" in objects
    for form in (GITHUB_TOKEN, GITHUB_TOKEN[::-1]):
        assert form not in objects and form not in out
