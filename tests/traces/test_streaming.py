"""Large files are not parsed whole: JSON Lines are read line by line, one big OTLP document span by span.

The size threshold is lowered so small files take the large-file paths; the results must not differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentbook.errors import FatalError
from agentbook.traces import load, read_trace
from agentbook.traces.export import export_many

FIXTURES = Path(__file__).parent / "fixtures"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["otlp_events.json", "otlp_two_traces.jsonl", "agentbook_transcript.jsonl"])
def test_large_file_paths_give_the_same_folder(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / name
    doc = (FIXTURES / name).read_text(encoding="utf-8")
    if name.endswith(".json"):
        doc = json.dumps(json.loads(doc))  # one line, as the session writer and the bench write it
    source.write_text(doc, encoding="utf-8")
    export_many(read_trace(source), tmp_path / "small")
    monkeypatch.setattr(load, "STREAM_BYTES", 64)
    export_many(read_trace(source), tmp_path / "large")
    assert _files(tmp_path / "small") == _files(tmp_path / "large")


def test_large_json_lines_with_a_torn_last_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = (FIXTURES / "otlp_two_traces.jsonl").read_text(encoding="utf-8")
    source = tmp_path / "t.jsonl"
    source.write_text(lines + '{"resourceSpans": [{"scope', encoding="utf-8")
    monkeypatch.setattr(load, "STREAM_BYTES", 64)
    traces = read_trace(source)
    assert [len(t.spans) for t in traces] == [2, 2]
    assert traces[0].problems == [("line 3 is not complete JSON (Unterminated string starting at): skipped, "
                                  "the file may be truncated")]


def test_large_truncated_otlp_document_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = json.dumps(json.loads((FIXTURES / "otlp_events.json").read_text(encoding="utf-8")))
    source = tmp_path / "t.json"
    source.write_text(doc[: len(doc) // 2], encoding="utf-8")
    monkeypatch.setattr(load, "STREAM_BYTES", 64)
    with pytest.raises(FatalError) as err:
        read_trace(source)
    assert err.value.render().startswith(f"{source}: not valid OTLP/JSON: Unterminated string starting at (character ")
    assert err.value.render().endswith("(the file may be truncated)")


def test_console_exporter_output_is_read(tmp_path: Path) -> None:
    """The OTel Python SDK's console exporter prints indented span objects one after another."""
    trace = read_trace(FIXTURES / "otel_console.json")[0]
    assert trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert [(s.kind, s.name) for s in trace.roots] == [("agent", "triage")]
    tool = trace.roots[0].children[1]
    assert (tool.status, tool.status_message) == ("error", "ValueError: team 'network' is not on call")
    llm = trace.roots[0].children[0]
    assert [m.role for m in llm.input_messages] == ["system", "user"]
    assert llm.output_messages[0].tool_calls[0].arguments == '{"team": "network"}'


def test_packed_spans_hold_a_repeated_system_prompt_once() -> None:
    """Every model call of an agent repeats its system prompt; a 100,000-span trace must not hold a copy
    per span (the bench's memory target), and unpacking must give the exact messages back."""
    from agentbook.traces.model import Message, Span, ToolCall

    prompt = "You are the incident assistant. Read the alert and query the logs. " * 20
    spans = []
    for n in range(3):
        span = Span(f"{n:016x}", input_messages=[Message("system", prompt), Message("user", f"question {n}")],
                    output_messages=[Message("assistant", tool_calls=[ToolCall("loki_query", '{"q": 1}', f"c{n}")])])
        span.pack()
        spans.append(span)
    assert all(len(s._packed or b"") < len(prompt) for s in spans)  # the prompt is not inside each blob
    for n, span in enumerate(spans):
        assert [(m.role, m.content) for m in span.input_messages] == [("system", prompt), ("user", f"question {n}")]
        assert type(span.input_messages[0].content) is str  # a plain str: YAML and JSON writers want one
        assert span.output_messages[0].tool_calls[0].id == f"c{n}"
        span.pack()  # packing again what was unpacked keeps it right
        assert len(span._packed or b"") < len(prompt)
        assert span.input_messages[0].content == prompt
