"""Attack kit for the runner's git and secret scanning: a real repository holding a two-step
runbook, a scripted agent whose turns each test writes (the stand-in plays it through the real
`anthropic` SDK), the real `agentbook run` in-process, and readers for what reached git.

Imported by `test_git_*.py` and `test_secrets_*.py` (pytest runs with importlib mode, so they add
this folder to `sys.path` themselves).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml
from tests.conftest import scripted_agent

from agentbook.cli import main

# Fake values in real shapes: findings must name them, nothing may print or commit them.
ANTHROPIC_KEY = "sk-ant-api03-Q7vLr2mXw9KpT4sJd8HfZ1cN6bYe3gUo5aRiVtWq0xMnPl-AbCdEfGh"
GITHUB_TOKEN = "ghp_R8sT2uV4wX6yZ0aB1cD3eF5gH7iJ9kL1mN3o"
COMPAT_KEY = "compat-key-6b1f0e9d8c7a6b5e4d3c2b1a0f9e8d7c"
EXTRA_SECRET = "hunter2-but-much-longer-9Fq3Zp"
SECRETS = {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "GITHUB_TOKEN": GITHUB_TOKEN,
           "AGENTBOOK_COMPAT_API_KEY": COMPAT_KEY}

RUNBOOK = """---
name: attack
description: Two steps in which the scripted agent does what the test wants.
tools: [read, write, edit, bash]
protected: ["prompts/*.md", "evals/suite.yaml"]
limits: {max_turns: 30, timeout: 5m}
branch: "agentbook/attack/{ticket.id}"
---
Do what the ticket asks.

## Do the work
Change the files the ticket names.

## Finish
Write done.txt.
"""

TICKET = """---
id: 7
title: Please fix the prompt
runbook: attack
---
Fix it.
"""


def git(cwd: Path, *args: str, check: bool = True) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True, text=True, env=env).stdout


def make_repo(tmp_path: Path) -> Path:
    """A repository with the runbook, protected prompts and suite, and an ordinary file."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for key, value in (("user.name", "Test User"), ("user.email", "test@example.com"), ("commit.gpgsign", "false")):
        git(repo, "config", key, value)
    files = {"runbooks/attack.md": RUNBOOK, "prompts/a.md": "You are a careful assistant.\n",
             "prompts/b.md": "Answer briefly.\n", "evals/suite.yaml": "tests: []\n", "README.md": "# repo\n",
             "src/app.py": "print('hi')\n"}
    return commit_files(repo, files, "initial")


def commit_files(repo: Path, files: dict[str, str], message: str) -> Path:
    """Write `files` (path under `repo` -> text) and commit them all."""
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return repo


def agent(tmp_path: Path, *turns: dict[str, Any], name: str = "agent") -> Path:
    """A scripted agent: `turns` in order (see `bash()`, `write()`), then "Done." for ever after."""
    return scripted_agent(tmp_path, *turns, runbook="attack", name=name)


def claude_probe(tmp_path: Path, *turns: dict[str, Any]) -> Path:
    """A scripted Claude Code session for the runbook "probe": `turns` in order (Claude Code's own tool
    names: Write, Bash, Grep), then "Done."."""
    path = tmp_path / "agent.script.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "model": "claude-haiku-4-5", "sessions": [
        {"name": "probe", "match": {"system": 'agentbook runbook "probe"'}, "turns": [*turns, {"text": "Done."}]}]}))
    return path


def bash(command: str, **extra: Any) -> dict[str, Any]:
    return {"tool_use": {"name": "bash", "input": {"command": command}}, **extra}


def write(path: str, content: str) -> dict[str, Any]:
    return {"tool_use": {"name": "write", "input": {"path": path, "content": content}}}


def run(repo: Path, script: Path, *extra: str, ticket: str = TICKET,
        capsys: Any = None) -> tuple[int, dict[str, Any], str]:
    """`agentbook run attack --json` on `repo`; (exit code, parsed stdout, stdout + stderr)."""
    ticket_path = repo.parent / "T.md"
    ticket_path.write_text(ticket)
    return cli(capsys, "run", "attack", "--ticket", str(ticket_path), "--repo", str(repo), "--model",
               f"scripted:{script}", "--json", *extra)


def cli(capsys: Any, *args: str) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    try:
        data = json.loads(out)
    except ValueError:
        data = {}
    return code, data, out + err


def branch_files(repo: Path, branch: str) -> dict[str, str]:
    """path -> mode of every entry in the branch's tree."""
    out = {}
    for line in git(repo, "ls-tree", "-r", "--full-tree", branch).splitlines():
        meta, _, path = line.partition("\t")
        out[path] = meta.split()[0]
    return out


def all_objects_text(git_dir: Path) -> str:
    """Every object in a repository (loose and packed, reachable or not), as text: what a leak
    check must search, not just the branch tips."""
    shas = git(git_dir, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)")
    blobs = [line.split()[0] for line in shas.splitlines() if line.split()[1] in ("blob", "commit", "tag")]
    if not blobs:
        return ""
    proc = subprocess.run(["git", "cat-file", "--batch"], cwd=git_dir, input=("\n".join(blobs) + "\n").encode(),
                          capture_output=True, check=True)
    return proc.stdout.decode("latin-1")


def set_secrets(monkeypatch: Any) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def files_under(root: Path) -> dict[str, str]:
    """Text of every file under `root` (records, reports): for "no secret anywhere" checks."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = path.read_bytes().decode("latin-1")
    return out
