"""Attacks on a checkout's git data through a suite's `file://` references. A checkout keeps the job's
token in `.git/config` (actions/checkout's `extraheader`, a remote URL), and a suite is a repository file
anyone may have written: `vars: {x: file://.git/config}` put the token in the prompt sent to the model,
in an `equals` grader's reason printed by `eval run` and in the run it stores, `eval split` copied the
file (a `.git` folder with the token) into its output, and the in-process `eval` tool showed it to the
agent of a `session --root CHECKOUT`, whose read tool and jail hide it. Every such reference, by name,
through a link, in a nested repository or where a `gitdir:` file leads, is refused at its path."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import CliResult

import agentbook.evals.tool  # noqa: F401  (registers the eval tool)
from agentbook.session.tools import ToolContext, get_tools

Cli = Callable[..., CliResult]
TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
HEADER = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
SCRIPT = """version: 1
model: scripted
sessions:
  - name: any
    match: {first_user: "Say"}
    turns:
      - text: "nothing to see"
"""


def _checkout(tmp_path: Path) -> Path:
    """A checkout whose git config holds the job's token as CI leaves it (not in the environment)."""
    root = tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for key, value in (("http.https://github.com/.extraheader", f"AUTHORIZATION: basic {HEADER}"),
                       ("remote.origin.url", f"https://x-access-token:{TOKEN}@github.com/o/r.git")):
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
    (root / "m.script.yaml").write_text(SCRIPT)
    return root


def _suite(root: Path, ref: str) -> Path:
    suite = root / "evil.yaml"
    suite.write_text('prompts: ["Say: {{c}}"]\nproviders: [echo]\ntests:\n  - id: leak\n'
                     f"    vars: {{c: 'file://{ref}'}}\n    assert:\n      - type: equals\n        value: '{{{{c}}}}'\n")
    return suite


def _leaks(text: str) -> bool:
    return TOKEN in text or HEADER in text or "extraheader" in text


def _written_leaks(root: Path) -> list[str]:
    """Files outside the checkout's own git data that hold the token."""
    return [str(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink()
            and not {".git", "gitdata"} & set(p.relative_to(root).parts) and _leaks(p.read_text(errors="replace"))]


def _plant(root: Path, how: str) -> str:
    """Where a reference to the checkout's (or a nested repository's) git config lies, planted as `how`."""
    if how == "link":
        (root / "cfg").symlink_to(".git/config")
        return "cfg"
    if how == "folder-link":
        (root / "g").symlink_to(".git")
        return "g/config"
    if how == "nested":
        nested = root / "vendor" / "lib"
        subprocess.run(["git", "init", "-q", str(nested)], check=True)
        subprocess.run(["git", "-C", str(nested), "config", "remote.origin.url",
                        f"https://x-access-token:{TOKEN}@github.com/o/lib.git"], check=True)
        return "vendor/lib/.git/config"
    if how == "gitdir":  # the checkout's .git is a file leading to a folder inside it
        (root / ".git").rename(root / "gitdata")
        (root / ".git").write_text("gitdir: gitdata\n")
        return "gitdata/config"
    return ".git/config"


@pytest.mark.parametrize("how", ["name", "link", "folder-link", "nested", "gitdir"])
def test_eval_run_never_reads_git_data(run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       how: str) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)  # on disk only, where CI leaves it
    root = _checkout(tmp_path)
    suite = _suite(root, _plant(root, how))
    result = run_cli("eval", "run", suite, "--model", f"scripted:{root / 'm.script.yaml'}", "--json", "--full")
    assert not _leaks(result.out + result.err)
    assert result.code in (2, 3) and "is git's own data" in result.out + result.err, (result.code, result.out)
    assert _written_leaks(root) == []


def test_a_prompt_file_in_git_data_is_refused(run_cli: Cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    root = _checkout(tmp_path)
    suite = root / "evil.yaml"
    suite.write_text("prompts: [file://.git/config]\nproviders: [echo]\ntests:\n  - id: leak\n    vars: {q: x}\n")
    result = run_cli("eval", "run", suite, "--model", f"scripted:{root / 'm.script.yaml'}", "--json", "--full")
    assert not _leaks(result.out + result.err)
    assert result.code in (2, 3) and "is git's own data" in result.out + result.err
    assert _written_leaks(root) == []


def test_eval_split_copies_no_git_data(run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    root = _checkout(tmp_path)
    suite = _suite(root, ".git/config")
    result = run_cli("eval", "split", suite, "--out", root / "split")
    assert result.code == 3 and "is git's own data" in result.err and not _leaks(result.out + result.err)
    assert not (root / "split" / ".git").exists() and _written_leaks(root) == []


def test_the_eval_tool_in_a_session_on_a_checkout_shows_no_git_data(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    root = _checkout(tmp_path)
    _suite(root, ".git/config")
    (tool,) = get_tools(["eval"])
    result: Any = asyncio.run(tool.run({"command": "run", "suite": "evil.yaml",  # type: ignore[arg-type]
                                        "model": f"scripted:{root / 'm.script.yaml'}"}, ToolContext(root=root)))
    assert not _leaks(result.content)
    assert "is git's own data" in result.content, result.content
    assert _written_leaks(root) == []


@pytest.mark.parametrize("where", ["prompt", "var"])
def test_a_fifo_the_agent_made_does_not_block_the_eval_tool(tmp_path: Path, where: str) -> None:
    """The `eval` tool runs in the runner's process: a suite whose prompt or var is `file://p.txt`, a fifo
    the agent made in the root with its bash, blocked the tool's thread in open() for ever (abandoned at
    `tool_seconds`, one more each call). A reference is now opened without blocking, regular files only."""
    root = _checkout(tmp_path)
    os.mkfifo(root / "p.txt")
    suite = root / "evil.yaml"
    prompt = "file://p.txt" if where == "prompt" else "'Say: {{c}}'"
    suite.write_text(f"prompts: [{prompt}]\nproviders: [echo]\ntests:\n  - id: t\n    vars: {{c: 'file://p.txt'}}\n")
    (tool,) = get_tools(["eval"])
    done: list[Any] = []
    worker = threading.Thread(target=lambda: done.append(asyncio.run(tool.run(  # type: ignore[arg-type]
        {"command": "run", "suite": "evil.yaml", "model": f"scripted:{root / 'm.script.yaml'}"},
        ToolContext(root=root)))), daemon=True)
    worker.start()
    worker.join(120)
    assert done, "the eval tool blocked opening a fifo"
    assert "fifo, not a regular file" in done[0].content, done[0].content


def test_a_state_link_beside_the_suite_is_not_followed_by_the_eval_tool(tmp_path: Path) -> None:
    """The `eval` tool runs in the runner's process, as root: a `.agentbook -> /host/folder` the agent left
    beside a suite had it write the suite's response cache, index, locks and runs there (and read them)."""
    root = _checkout(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / ".agentbook").symlink_to(elsewhere)
    (root / "ok.yaml").write_text('prompts: ["Say: {{c}}"]\nproviders: [echo]\ntests:\n  - id: t\n    vars: {c: x}\n')
    (tool,) = get_tools(["eval"])
    result: Any = asyncio.run(tool.run({"command": "run", "suite": "ok.yaml",  # type: ignore[arg-type]
                                        "model": f"scripted:{root / 'm.script.yaml'}"}, ToolContext(root=root)))
    assert list(elsewhere.iterdir()) == [], sorted(p.name for p in elsewhere.iterdir())
    assert ".agentbook is a link" in result.content, result.content
