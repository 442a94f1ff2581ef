"""Eval fixtures: promptfoo-shaped suites copied into a tmp dir per test (state dirs land there too)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def suite_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy fixtures/<name> into tmp_path and return the copy's folder."""

    def _copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(FIXTURES / name, dest)
        return dest

    return _copy

