"""The agent-facing CLI views: bounded output with exact pointers, filters, stats, stdin input."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.evals.store import open_suite
from agentbook.evals.synth import synthetic_suite


@pytest.fixture
def big(tmp_path: Path) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(synthetic_suite(30, case_bytes=6000))
    return path


def test_show_is_bounded_with_exact_pointers(run_cli: Callable[..., Any], big: Path) -> None:
    res = run_cli("eval", "show", str(big), "case-00007")
    assert res.code == 0 and len(res.out) < 2000
    logs = open_suite(big).get_case("case-00007")["vars"]["logs"]
    assert f"[... {len(logs) - 300} bytes more: use --field vars.logs --range 300:{min(len(logs), 4300)}]" \
        in res.out
    page = run_cli("eval", "show", str(big), "case-00007", "--field", "vars.logs", "--range", "300:400")
    assert page.out.splitlines()[-1] == f"[... {len(logs) - 400} bytes more: use --field vars.logs --range 400:500]"
    assert page.out.startswith(logs[300:400])
    whole = run_cli("eval", "show", str(big), "case-00007", "--field", "vars.logs", "--full")
    assert whole.out == logs
    js = json.loads(run_cli("eval", "show", str(big), "case-00007", "--json").out)
    assert js["truncated"] == [{"field": "vars.logs", "size": len(logs), "shown": 300,
                                "more": f"--field vars.logs --range 300:{min(len(logs), 4300)}"}]


@pytest.mark.parametrize("expr,ids", [
    ("id=case-0000[12]", ["case-00001", "case-00002"]),
    ("description~incident 29", ["case-00029"]),
    ("assert=llm-rubric id=case-0002*", [f"case-{i:05d}" for i in range(20, 30)]),
    ("id!=case-0000*, id!=case-0001*", [f"case-{i:05d}" for i in range(20, 30)]),
    ("size>100000", []),
    ("incident 3", ["case-00003"]),
])
def test_list_filters(run_cli: Callable[..., Any], big: Path, expr: str, ids: list[str]) -> None:
    res = run_cli("eval", "list", str(big), "--filter", expr, "--json")
    assert [c["id"] for c in json.loads(res.out)["cases"]] == ids


def test_list_is_bounded(run_cli: Callable[..., Any], big: Path) -> None:
    res = run_cli("eval", "list", str(big), "--limit", "5")
    assert res.out.splitlines()[-2:] == ["[... 25 more cases: use --filter EXPR or --limit 0]",
                                         "30 of 30 cases (single layout)"]


def test_stats(run_cli: Callable[..., Any], big: Path) -> None:
    stats = json.loads(run_cli("eval", "stats", str(big), "--json").out)
    assert (stats["cases"], stats["layout"], stats["edit_path"]) == (30, "single", "fast splice")
    assert stats["asserts"] == {"icontains": 30, "llm-rubric": 30} and stats["duplicates"] == []


def test_add_from_stdin(run_cli: Callable[..., Any], big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("- id: one\n  vars: {q: 1}\n- id: two\n  vars: {q: 2}\n"))
    res = run_cli("eval", "add", str(big), "-", "--json")
    assert res.code == 0, res.err
    assert [c["id"] for c in json.loads(res.out)["cases"]] == ["one", "two"]
    assert [c.id for c in open_suite(big).list_cases()][-2:] == ["one", "two"]


def test_show_bounds_a_case_of_many_small_fields(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    asserts = "".join(f"      - type: contains\n        value: word-{i}\n" for i in range(600))
    path.write_text(f"tests:\n  - id: wide\n    assert:\n{asserts}")
    res = run_cli("eval", "show", str(path), "wide")
    assert len(res.out) < 8200
    first = res.out.rstrip().rsplit(" bytes more, from ", 1)[1].split(" ", 1)[0]  # the first item not shown
    assert first.startswith("assert[") and res.out.rstrip().endswith(
        f"from {first} on: read it with --field {first}, or everything with --full]")
    field = run_cli("eval", "show", str(path), "wide", "--field", "assert[599].value")
    assert field.out == "word-599\n"
