"""Fixtures for catalog tests: skills and runbooks written as real files in tmp dirs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SkillWriter = Callable[..., Path]


@pytest.fixture
def write_skill() -> SkillWriter:
    """write_skill(base, folder, front_yaml, body=...) -> path of SKILL.md (front written verbatim)."""

    def _write(base: Path, folder: str, front: str, body: str = "# Skill\n\nDo the thing.\n") -> Path:
        skill_dir = base / folder
        skill_dir.mkdir(parents=True, exist_ok=True)
        path = skill_dir / "SKILL.md"
        path.write_bytes(f"---\n{front}---\n{body}".encode())
        return path

    return _write


@pytest.fixture
def write_runbook() -> SkillWriter:
    """write_runbook(base, name, front_yaml, body) -> path of base/name.md."""

    def _write(base: Path, name: str, front: str, body: str) -> Path:
        base.mkdir(parents=True, exist_ok=True)
        path = base / f"{name}.md"
        path.write_bytes(f"---\n{front}---\n{body}".encode())
        return path

    return _write
