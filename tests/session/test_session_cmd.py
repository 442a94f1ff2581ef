"""`agentbook session` end to end: the example script, JSON output, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentbook.fsutil import read_jsonl

REPO = Path(__file__).resolve().parents[2]
EXPLORE = REPO / "examples" / "sessions" / "explore.script.yaml"
LOOP = Path(__file__).parent / "scripts" / "loop.script.yaml"


def test_explore_example_end_to_end_json(run_cli, work: Path, tmp_path: Path) -> None:
    r = run_cli("session", "--model", f"scripted:{EXPLORE}", "--root", work, "--out", tmp_path / "out",
                "--json", "explore this repo and note NOTES.md")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["outcome"]["kind"] == "completed" and data["outcome"]["exit_code"] == 0
    assert data["turns"] == 7 and data["files_changed"] == ["NOTES.md"] and data["sandbox"] == "bwrap"
    transcript, trace = Path(data["transcript_path"]), Path(data["trace_path"])
    assert transcript.parent == tmp_path / "out" / data["session_id"]
    assert read_jsonl(transcript)[-1]["event"] == "outcome"
    assert json.loads(trace.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] == \
        "invoke_agent agentbook"
    assert (work / "NOTES.md").exists()


def test_human_output_and_blocked_exit_code(run_cli, work: Path, tmp_path: Path) -> None:
    r = run_cli("session", "--model", f"scripted:{LOOP}", "--root", work, "--out", tmp_path / "out",
                "--protected", "evals/**/cases/*.yaml", "protected-write")
    assert r.code == 11
    lines = r.out.splitlines()
    assert lines[0] == "blocked(permission): write refused: evals/cases/c1.yaml"
    assert lines[1].startswith("turns 1, tool calls 1, $0.0000, ")
    assert any(line.startswith("transcript: ") for line in lines)


def test_budget_flags(run_cli, work: Path, tmp_path: Path) -> None:
    r = run_cli("session", "--model", f"scripted:{EXPLORE}", "--root", work, "--out", tmp_path, "--max-turns", "2",
                "--json", "explore")
    assert r.code == 12 and json.loads(r.out)["outcome"]["reason"] == "turns"
    r = run_cli("session", "--model", f"scripted:{LOOP}", "--root", work, "--out", tmp_path, "--timeout", "1.5s",
                "--json", "stall")
    assert r.code == 12 and json.loads(r.out)["outcome"]["reason"] == "wall"


def test_bad_input_is_a_clear_error(run_cli, work: Path, tmp_path: Path) -> None:
    r = run_cli("session", "--model", f"scripted:{EXPLORE}", "--root", work, "--timeout", "soon", "explore")
    assert r.code == 2 and "--timeout: expected a duration, got 'soon'" in r.err
    r = run_cli("session", "--model", f"scripted:{EXPLORE}", "--root", work, "--tools", "read,teleport",
                "--out", tmp_path, "explore")
    assert r.code == 3 and "unknown tool 'teleport'" in r.err and "Traceback" not in r.err
    r = run_cli("session", "--model", "nonsense", "--root", work, "--out", tmp_path, "explore")
    assert r.code == 3 and "bad model spec 'nonsense'" in r.err
    r = run_cli("session", "--model", f"scripted:{EXPLORE}", "--root", work / "missing", "--out", tmp_path, "x")
    assert r.code == 3 and "is not a folder" in r.err


def test_records_inside_the_root_are_protected(run_cli, work: Path) -> None:
    r = run_cli("session", "--model", f"scripted:{EXPLORE}", "--root", work, "--out", work / ".records",
                "--json", "explore")
    data = json.loads(r.out)
    start = read_jsonl(data["transcript_path"])[0]
    assert start["protected"] == [f".records/{data['session_id']}"]


def test_fix_under_faults_example(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "w"
    root.mkdir()
    r = run_cli("session", "--model", f"scripted:{REPO / 'examples' / 'sessions' / 'fix-under-faults.script.yaml'}",
                "--root", root, "--out", tmp_path / "out", "--json", "fix greet")
    data = json.loads(r.out)
    assert r.code == 0, data["outcome"]
    assert data["retries"] == 2  # the 529 outlived the SDK's own retries once; the mid-stream error once
    assert (root / "greet.py").read_text() == "def greet(name):\n    return f'Hello, {name}!'\n"
    tools = [e for e in read_jsonl(data["transcript_path"]) if e["event"] == "tool"]
    assert "AssertionError: Hello Ada" in tools[2]["content"] and tools[2]["is_error"]
    assert tools[4]["content"] == "ok\n[exit code 0]"


def test_a_broken_prices_file_stops_before_the_first_request(run_cli, work: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from agentbook.models.pricing import price_table

    prices = tmp_path / "prices.yaml"
    prices.write_text("models: [not, a, mapping\n")
    monkeypatch.setenv("AGENTBOOK_PRICES", str(prices))
    price_table.cache_clear()
    try:
        r = run_cli("session", "--model", f"scripted:{EXPLORE}", "--root", work, "--out", tmp_path / "out",
                    "explore")
    finally:
        monkeypatch.delenv("AGENTBOOK_PRICES")
        price_table.cache_clear()
    assert r.code == 3 and r.err.startswith(f"agentbook: error: {prices}") and "Traceback" not in r.err
    assert not list((tmp_path / "out").rglob("transcript.jsonl"))  # no session was started, nothing was paid
