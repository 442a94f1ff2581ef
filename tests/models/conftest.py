"""Model-layer fixtures: script files written by the test, served through `scripted:` specs."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentbook.models.governor import GOVERNOR
from agentbook.standin import stop_all


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """`scripted(yaml_text)` -> a `scripted:<file>` spec; in-process servers stop after the test."""
    names = iter(range(1000))
    def make(text: str) -> str:
        path = tmp_path / f"m{next(names)}.script.yaml"
        path.write_text(textwrap.dedent(text))
        return f"scripted:{path}"

    yield make
    stop_all()
    GOVERNOR.reset()
