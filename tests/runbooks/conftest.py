"""Fixtures for the workflow tests: fresh copies of the example system as git repositories."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentbook.workflows.fixture import example_dir, make_repo

EXAMPLE = example_dir()
GENERATE = "python scripts/generate.py --big"


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """The incident-assistant example as its own git repository (big suite generated and committed)."""
    return make_repo(EXAMPLE, tmp_path / "incident-assistant", [GENERATE], "incident-assistant: initial")


@pytest.fixture
def example_import(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the example's `assistant` package importable, as `python -m assistant` sees it."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    for name in [m for m in sys.modules if m == "assistant" or m.startswith("assistant.")]:
        monkeypatch.delitem(sys.modules, name)
    return EXAMPLE
