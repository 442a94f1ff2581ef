"""Deep and wide trees stay navigable, names from the trace never escape OUT, OUT is replaced safely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.errors import FatalError
from agentbook.traces import Span, Trace, export_trace, layout, read_trace
from agentbook.traces.tree import build_tree

MAX_PATH = 200
MAX_ENTRIES = 200


def _trace(spans: list[Span]) -> Trace:
    for n, span in enumerate(spans):
        span.start_ns = 1_700_000_000_000_000_000 + n
    return build_tree(Trace(trace_id="t", format="otlp", spans=spans))


def _check_bounds(out: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(out):
        assert len(dirnames) + len(filenames) <= MAX_ENTRIES, dirpath
        for name in dirnames + filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), out)
            assert len(rel) <= MAX_PATH, rel
            assert not os.path.islink(os.path.join(dirpath, name))


def test_wide_tree_groups_runs_of_siblings(tmp_path: Path, count_folder: Callable[..., Any]) -> None:
    spans = [Span("root", kind="agent", name="root")]
    spans += [Span(f"c{n}", parent_id="root", kind="tool", name=f"call {n}") for n in range(1000)]
    out = tmp_path / "out"
    export_trace(_trace(spans), out)
    _check_bounds(out)
    assert count_folder(out).spans == 1001
    root = out / "0001-agent-root"
    groups = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert groups[:2] == ["0002-0101", "0102-0201"] and len(groups) == 10
    assert (root / "0102-0201" / "0102-tool-call-100" / "span.yaml").is_file()


def test_very_wide_tree_groups_groups(tmp_path: Path, count_folder: Callable[..., Any],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The limits scaled down (150 entries, groups of 100 -> 10 and 4) so 300 spans need groups of groups.
    monkeypatch.setattr(layout, "MAX_ENTRIES", 10)
    monkeypatch.setattr(layout, "GROUP_SIZE", 4)
    spans = [Span(f"r{n}", kind="other", name="r") for n in range(300)]
    out = tmp_path / "out"
    export_trace(_trace(spans), out)
    assert count_folder(out).spans == 300
    for dirpath, dirnames, _ in os.walk(out):
        assert len(dirnames) <= 10, dirpath
    assert (out / "001-064" / "001-016" / "001-004" / "001-other-r" / "span.yaml").is_file()


def test_deep_tree_continues_under_deep_with_pointers(tmp_path: Path, count_folder: Callable[..., Any]) -> None:
    spans = [Span("s0", kind="agent", name="a very long agent name that keeps going and going")]
    spans += [Span(f"s{n}", parent_id=f"s{n - 1}", kind="chain", name="a very long step name that keeps going")
              for n in range(1, 400)]
    out = tmp_path / "out"
    export_trace(_trace(spans), out)
    _check_bounds(out)
    assert count_folder(out).spans == 400
    assert (out / "_deep").is_dir()
    pointer = next(out.rglob("continued.md")).read_text(encoding="utf-8")
    target = pointer.split("`")[1]
    assert (out / target / "span.yaml").is_file()
    index = (out / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(index) == 400 and all((out / row.split("\t")[0] / "span.yaml").is_file() for row in index)
    tree = (out / "tree.txt").read_text(encoding="utf-8").splitlines()
    assert tree[-1].startswith(" " * 2 * 399 + "400 chain")  # tree.txt keeps the real depth


HOSTILE = ["../../../etc/passwd", "/absolute/path", "..", ".", "~root", "a\x00b", "x" * 5000, "名前\u202e", "CON",
           "-rf", "a/../../b", "\\..\\..\\windows", "link -> /etc"]


def test_hostile_names_stay_inside_out(tmp_path: Path) -> None:
    spans = [Span("root", kind="agent", name="../root")]
    for n, name in enumerate(HOSTILE):
        span = Span(f"../{n}", parent_id="root", kind="../evil" if n == 0 else "tool", name=name)
        span.input_messages = []
        spans.append(span)
    spans[1].attributes = {"../key": "../value"}
    out = tmp_path / "box" / "out"
    export_trace(_trace(spans), out)
    _check_bounds(out)
    real_out = out.resolve()
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(real_out)
        assert path.name.isprintable() and not path.name.startswith("..")
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == ["out"]


def test_out_that_is_a_symlink_or_someone_elses_folder_is_refused(tmp_path: Path) -> None:
    trace = _trace([Span("a", name="a")])
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me\n")
    with pytest.raises(FatalError) as err:
        export_trace(trace, precious)
    assert err.value.render() == (f"{precious}: exists, is not empty and is not a trace export; refusing to "
                                  "overwrite it (pick a new folder, or remove this one)")
    link = tmp_path / "link"
    link.symlink_to(precious)
    with pytest.raises(FatalError) as err:
        export_trace(trace, link)
    assert err.value.render() == f"{link}: is a symlink; refusing to export through it (pass a real folder path)"
    assert (precious / "notes.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in precious.iterdir()) == ["notes.txt"]


def test_failed_export_leaves_the_previous_one_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_trace(_trace([Span("a", name="first")]), out)
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    bad = _trace([Span("b", name="second")])
    bad.spans[0].attributes = {"x": "y" * 1000, "z": _Unprintable()}
    with pytest.raises(RuntimeError, match="cannot print"):
        export_trace(bad, out)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the temporary folder is gone


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot print this value")

    def __repr__(self) -> str:
        raise RuntimeError("cannot print this value")


def test_export_json_counts_match_folder(tmp_path: Path, run_cli: Callable[..., Any],
                                         count_folder: Callable[..., Any]) -> None:
    fixture = Path(__file__).parent / "fixtures" / "otlp_events.json"
    result = run_cli("trace", "export", fixture, tmp_path / "out", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)["traces"][0]
    found = count_folder(tmp_path / "out")
    assert (summary["spans"], summary["messages"]) == (found.spans, found.messages) == (6, 10)
    # one call asked for in a message (its "## tool call" section) and run as a span, one run without
    assert (found.tool_calls, found.tool_dirs, summary["tool_calls"]) == (1, 2, 2)
    assert summary["errors"] == 2 and summary["flagged"] == 5


def test_leftovers_of_a_killed_export_are_cleaned_up(tmp_path: Path) -> None:
    """kill -9 during an export leaves its temporary folder; the next export removes it, OUT stays whole."""
    fixture = Path(__file__).parent / "fixtures" / "otlp_events.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = tmp_path / f".out.tmp-{dead.stdout.strip()}-abc123"
    (stale / "001-agent-x").mkdir(parents=True)
    mine = tmp_path / f".out.tmp-{os.getpid()}-live"  # a live process's folder is left alone
    mine.mkdir()
    export_trace(read_trace(fixture)[0], tmp_path / "out")
    assert not stale.exists() and mine.exists()
    assert (tmp_path / "out" / "README.md").is_file()
