"""Runner fixtures: a real repo holding a 4-step runbook, a skill, and scripts for the stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.repos import add_four_steps

DATA = Path(__file__).parent / "data"


@pytest.fixture
def runner_repo(git_repo: Path) -> Path:
    """`git_repo` plus runbooks/four-steps.md, skills/note-style and notes/source.md, committed on main."""
    return add_four_steps(git_repo, notes=True)


@pytest.fixture
def script() -> Path:
    return DATA / "four-steps.script.yaml"
