"""Shared fixtures: real git repositories in tmp dirs, the CLI run in-process through `main(argv)`, a
local GitHub API for `--open-pr` (tests/github_api.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.github_api import TOKEN, serving

from agentbook.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent
# Third-party samples read in place (never copied in); AGENTBOOK_INTEROP points elsewhere (a worktree).
INTEROP = Path(os.environ.get("AGENTBOOK_INTEROP") or REPO_ROOT.parent / "shared" / "interop")

# Tests must never pick up a developer's real keys or git identity.
for _var in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "GITHUB_TOKEN"):
    os.environ.pop(_var, None)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `agentbook ARGS...` in-process and return exit code, stdout and stderr."""

    def _run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return _run


def scripted_agent(tmp_path: Path, *turns: dict[str, Any], runbook: str, name: str = "agent") -> Path:
    """A scripted agent for runbook `runbook`: `turns` in order, then "Done." for ever after."""
    script = {"version": 1, "model": "scripted",
              "sessions": [{"name": name, "match": {"system": f'agentbook runbook "{runbook}"'},
                            "after_last": "repeat_last", "turns": [*turns, {"text": "Done."}]}]}
    path = tmp_path / f"{name}.script.yaml"
    path.write_text(yaml.safe_dump(script, sort_keys=False))
    return path


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A fresh git repository with an identity and one commit on `main`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test User")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# test repo\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The requests a run's `--open-pr` sent to the local GitHub API (tests/github_api.py), which
    GITHUB_API_URL and GITHUB_TOKEN point at for the test."""
    with serving() as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield server.requests
