"""Golden folders: each fixture exports to exactly the committed folder, byte for byte.

Regenerate after an intended change with `AGENTBOOK_REGEN_GOLDEN=1 .venv/bin/python -m pytest
tests/traces/test_golden.py`, then review the diff of tests/traces/golden/ like any other change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from agentbook.traces import read_trace
from agentbook.traces.export import export_many

HERE = Path(__file__).parent
FIXTURES = sorted(p for p in (HERE / "fixtures").iterdir() if p.suffix in (".json", ".jsonl"))
REGEN = os.environ.get("AGENTBOOK_REGEN_GOLDEN") == "1"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.name for p in FIXTURES])
def test_export_matches_golden_folder(fixture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_many(read_trace(fixture), out)
    golden = HERE / "golden" / fixture.name.split(".")[0]
    if REGEN:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    got, want = _files(out), _files(golden)
    assert sorted(got) == sorted(want)
    for name, data in want.items():
        assert got[name] == data, f"{name} differs from the golden copy"


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.name for p in FIXTURES])
def test_every_span_yaml_is_valid_yaml_with_its_own_path(fixture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_many(read_trace(fixture), out)
    for span_file in out.rglob("span.yaml"):
        doc = yaml.safe_load(span_file.read_text(encoding="utf-8"))
        assert str(span_file.parent).endswith(doc["path"])
        assert doc["kind"] in ("agent", "llm", "tool", "chain", "retrieval", "other")


def test_same_input_gives_same_bytes_and_reexport_replaces(tmp_path: Path) -> None:
    fixture = HERE / "fixtures" / "otlp_events.json"
    first, second = tmp_path / "a", tmp_path / "b"
    export_many(read_trace(fixture), first)
    export_many(read_trace(fixture), second)
    assert _files(first) == _files(second)
    (first / "stale.txt").write_text("left over\n")
    export_many(read_trace(fixture), first)  # an earlier export is replaced whole, not merged
    assert _files(first) == _files(second)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left behind
