"""Session fixtures: a root folder with an outside neighbour, and a tool context over it."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
from pathlib import Path
from typing import Any

import pytest

from agentbook.session.tools import Tool, ToolContext, ToolResult


def run_async(tool: Tool, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """Call a coroutine tool (glob, grep) from a plain test."""
    assert inspect.iscoroutinefunction(tool.run)
    result = asyncio.run(tool.run(args, ctx))
    assert isinstance(result, ToolResult)
    return result


def tree_state(path: Path) -> dict[str, str]:
    """Every entry under `path` with its content hash (or link target): to prove nothing changed."""
    state: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            if p.is_symlink():
                state[str(p)] = "link:" + os.readlink(p)
            elif p.is_file():
                state[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                state[str(p)] = "dir"
    return state


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """tmp/root (the session root, with a few files) next to tmp/outside (must never change)."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "src").mkdir(parents=True)
    (root / "evals" / "cases").mkdir(parents=True)
    outside.mkdir()
    (outside / "victim.txt").write_text("do not touch\n")
    (root / "README.md").write_text("# demo\nhello world\n")
    (root / "src" / "app.py").write_text("def greet():\n    return 'hello'\n\n\ndef part():\n    return 'hello'\n")
    (root / "evals" / "cases" / "c1.yaml").write_text("vars: {q: hi}\n")
    return root


@pytest.fixture
def ctx(work: Path) -> ToolContext:
    return ToolContext(root=work, protected=["evals/**/cases/*.yaml"], sandbox="bwrap")
