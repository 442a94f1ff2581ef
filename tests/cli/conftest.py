"""The CLI as a coding agent meets it through the shipped skills: in a fresh git repository of the example
system, from its root, commands typed as the skills and runbooks write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentbook.workflows.fixture import example_dir, make_repo


@pytest.fixture
def example_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The incident-assistant example as its own git repository (without the generated 5 MB suite), and
    the current folder, as for an agent working in it."""
    repo = make_repo(example_dir(), tmp_path / "incident-assistant", [], "incident-assistant: initial")
    monkeypatch.chdir(repo)
    return repo
