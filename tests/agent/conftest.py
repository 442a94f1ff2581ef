"""Agent-engine fixtures: the runner's 4-step repo (tests/runner/data) and the pinned Claude Code."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.npm_tools import install_claude
from tests.repos import add_four_steps

DATA = Path(__file__).parent / "data"


@pytest.fixture
def four_repo(git_repo: Path) -> Path:
    """`git_repo` plus runbooks/four-steps.md and skills/note-style, committed on main."""
    return add_four_steps(git_repo)


# -- the real Claude Code, pinned, installed from npm into a cache (tests/npm_tools.py) -----------------

@pytest.fixture(scope="session")
def claude_binary() -> Path:
    binary, why = install_claude()
    if binary is None:
        pytest.skip(why)
    return binary


@pytest.fixture
def claude(claude_binary: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pinned Claude Code for `--agent claude-code`, and the sandbox it must run in."""
    from agentbook.session.sandbox import bwrap_works

    if not bwrap_works():
        pytest.skip("bubblewrap cannot create namespaces here: the claude-code agent refuses to run unconfined")
    monkeypatch.setenv("AGENTBOOK_CLAUDE", str(claude_binary))
    return claude_binary
