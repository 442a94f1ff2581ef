"""`agentbook trace export|summary` end to end, including agentbook's own session records."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.traces import read_trace

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
REPO = HERE.parents[1]


def test_summary_json_and_text(run_cli: Callable[..., Any]) -> None:
    result = run_cli("trace", "summary", FIXTURES / "langfuse_trace.json", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)["traces"][0]
    assert (data["format"], data["spans"], data["errors"], data["orphans"]) == ("langfuse", 4, 1, 1)
    assert data["kinds"] == {"llm": 1, "tool": 1, "chain": 1, "other": 1}
    assert [f["section"] for f in data["findings"]] == ["tool_error", "warning"]
    text = run_cli("trace", "summary", FIXTURES / "langfuse_trace.json")
    assert text.code == 0
    assert text.out.splitlines()[0] == "trace lf-trace-7 (langfuse) ticket-classifier"
    assert "  ! tool_error: tool lookup_order: orders API timed out after 450ms" in text.out
    assert len(text.out) < 2000


def test_many_traces_export_one_folder_each(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    result = run_cli("trace", "export", FIXTURES / "otlp_two_traces.jsonl", tmp_path / "out", "--json")
    assert result.code == 0, result.err
    folders = [Path(t["out_dir"]).name for t in json.loads(result.out)["traces"]]
    assert folders == ["01-5b8efff798038103d269b633813fc60c", "02-00000000000000000000000000000abc"]
    assert all((tmp_path / "out" / f / "README.md").is_file() for f in folders)
    assert "| `02-00000000000000000000000000000abc/` |" in (tmp_path / "out" / "README.md").read_text()
    again = run_cli("trace", "export", FIXTURES / "otlp_two_traces.jsonl", tmp_path / "out")
    assert again.code == 0, again.err  # re-export into the same container is allowed


def test_trace_id_picks_one_or_says_which_exist(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    one = run_cli("trace", "export", FIXTURES / "otlp_two_traces.jsonl", tmp_path / "one", "--trace-id", "abc")
    assert one.code == 0, one.err
    assert (tmp_path / "one" / "README.md").read_text().count("00000000000000000000000000000abc") >= 1
    assert (tmp_path / "one" / "001-chain-summarise_alert").is_dir()
    missing = run_cli("trace", "summary", FIXTURES / "otlp_two_traces.jsonl", "--trace-id", "nope")
    assert missing.code == 3
    assert missing.err == ("agentbook: error: no trace with id 'nope' in this file (it holds: "
                           "5b8efff798038103d269b633813fc60c, 00000000000000000000000000000abc)\n")


def test_real_session_records_export(tmp_path: Path, run_cli: Callable[..., Any],
                                     count_folder: Callable[..., Any]) -> None:
    """A real session (scripted model via the stand-in, real tools) writes a transcript and an OTLP trace;
    both export, and they agree on the tool calls the session made."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README.md").write_text("# demo\nTODO: write notes\n")
    script = REPO / "examples" / "sessions" / "explore.script.yaml"
    records = tmp_path / "records"
    ran = run_cli("session", "--model", f"scripted:{script}", "--root", root, "--out", records, "--json",
                  "explore the repo and note NOTES.md")
    assert ran.code == 0, ran.out + ran.err
    paths = json.loads(ran.out)
    transcript_file, trace_file = Path(paths["transcript_path"]), Path(paths["trace_path"])
    transcript = read_trace(transcript_file)[0]
    otlp = read_trace(trace_file)[0]
    assert (transcript.format, otlp.format) == ("agentbook", "otlp")
    tools_t = [s.tool_name for s in transcript.spans if s.kind == "tool"]
    tools_o = [s.tool_name for s in sorted(otlp.spans, key=lambda s: s.start_ns or 0) if s.kind == "tool"]
    assert tools_t == tools_o == ["glob", "read", "grep", "write", "edit", "bash"]
    assert [s.kind for s in otlp.roots] == ["agent"]
    for name, source in (("t", transcript_file), ("o", trace_file)):
        result = run_cli("trace", "export", source, tmp_path / name, "--json")
        assert result.code == 0, result.err
        summary = json.loads(result.out)["traces"][0]
        found = count_folder(tmp_path / name)
        assert (found.spans, found.messages, found.tool_dirs) == (
            summary["spans"], summary["messages"], summary["tool_spans"])
        # the OTLP record repeats earlier calls in each model call's input: 6 distinct calls, 27 sections
        assert found.tool_dirs == summary["tool_calls"] == 6 <= found.tool_calls


@pytest.mark.parametrize("fixture", ["langfuse_trace.json", "atif_trajectory.json"])
@pytest.mark.parametrize("shape", ["array", "lines"])
def test_several_langfuse_or_atif_documents_are_several_traces(fixture: str, shape: str, tmp_path: Path,
                                                               run_cli: Callable[..., Any]) -> None:
    one = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))
    two = json.loads(json.dumps(one).replace("lf-trace-7", "lf-trace-8").replace("run-42", "run-43"))
    source = tmp_path / ("many.json" if shape == "array" else "many.jsonl")
    source.write_text(json.dumps([one, two]) if shape == "array" else f"{json.dumps(one)}\n{json.dumps(two)}\n")
    result = run_cli("trace", "summary", source, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)["traces"]
    assert [t["trace_id"] for t in data] == (["lf-trace-7", "lf-trace-8"] if "langfuse" in fixture
                                             else ["run-42", "run-43"])
    assert data[0]["spans"] == data[1]["spans"] > 1


def test_json_about_many_traces_is_bounded_and_counts_them_all(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    """An Inspect log of 814 samples (kevinschaul/llm-evals) gave 245 KB from `trace export --json` and
    517 KB from `trace summary --json`, which the human summary pointed to for the rest."""
    one = json.loads((FIXTURES / "langfuse_trace.json").read_text(encoding="utf-8"))
    source = tmp_path / "many.jsonl"
    source.write_text("".join(json.dumps(one).replace("lf-trace-7", f"lf-trace-{n:02d}") + "\n" for n in range(25)))
    summary = json.loads(run_cli("trace", "summary", source, "--json").out)
    assert (summary["total"], summary["listed"], summary["omitted"], len(summary["traces"])) == (25, 20, 5, 20)
    assert summary["more"] == "one trace: --trace-id ID; every trace: --limit 0"
    text = run_cli("trace", "summary", source).out
    assert text.splitlines()[-1] == "... 20 more traces; pick one with --trace-id, or use --json (the first 20; --limit 0 for all)"
    out = tmp_path / "out"
    exported = json.loads(run_cli("trace", "export", source, out, "--json", "--limit", "3").out)
    assert (exported["total"], exported["listed"], exported["omitted"]) == (25, 3, 22)
    assert exported["totals"]["spans"] == 25 * exported["traces"][0]["spans"]
    assert exported["more"] == f"every trace: {out}/README.md, or --limit 0"
    assert len(list(out.glob("*/README.md"))) == 25  # the export itself is whole
    every = json.loads(run_cli("trace", "summary", source, "--json", "--limit", "0").out)
    assert (every["listed"], "more" in every) == (25, False)


def test_reexport_switches_between_one_and_many_traces_cleanly(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "out"
    assert run_cli("trace", "export", FIXTURES / "otlp_two_traces.jsonl", out).code == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "01-5b8efff798038103d269b633813fc60c", "02-00000000000000000000000000000abc", "README.md"]
    assert run_cli("trace", "export", FIXTURES / "otlp_events.json", out).code == 0
    assert not (out / "01-5b8efff798038103d269b633813fc60c").exists()
    assert (out / "tree.txt").is_file()
    one = run_cli("trace", "export", FIXTURES / "otlp_two_traces.jsonl", out, "--trace-id", "abc")
    assert one.code == 0
    assert run_cli("trace", "export", FIXTURES / "otlp_two_traces.jsonl", out).code == 0
    assert not (out / "tree.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
