"""Helpers for the trace-export tests: where the fixtures are, and how to count what a folder holds."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import INTEROP

INTEROP_TRACES = INTEROP / "traces"


@dataclass
class FolderCounts:
    spans: int  # span folders (span.yaml files)
    messages: int  # files under */messages/
    tool_calls: int  # "## tool call" sections in message files
    tool_dirs: int  # span folders with a tool/ folder
    index_rows: int  # lines of index.tsv after the header


def _count_folder(out: Path) -> FolderCounts:
    spans = messages = calls = tools = 0
    for dirpath, dirnames, filenames in os.walk(out):
        if "span.yaml" in filenames:
            spans += 1
        if "tool" in dirnames:
            tools += 1
        if os.path.basename(dirpath) == "messages":
            for name in filenames:
                if ".rest." in name:
                    continue
                messages += 1
                text = Path(dirpath, name).read_text(encoding="utf-8")
                calls += sum(1 for line in text.splitlines() if line.startswith("## tool call "))
    rows = len((out / "index.tsv").read_text(encoding="utf-8").splitlines()) - 1
    return FolderCounts(spans, messages, calls, tools, rows)


@pytest.fixture
def count_folder() -> Callable[[Path], FolderCounts]:
    return _count_folder


@pytest.fixture
def interop_traces() -> Path:
    if not INTEROP_TRACES.is_dir():
        pytest.skip(f"third-party samples not present at {INTEROP_TRACES}")
    return INTEROP_TRACES
