"""`tool calls` in `trace summary` and the export's counts: every distinct tool call the trace records,
whether a model message asked for it, a tool span ran it, or both (then once). It was the number of
calls inside messages only, so a format that records tool runs as spans (langfuse TOOL observations,
OTel GenAI `execute_tool`, OpenAI Agents `function` spans) printed "tool calls 0" beside its tool spans.
Expected values come from the source files, not from the readers under test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.traces import Message, Span, Trace, read_trace
from agentbook.traces.model import ToolCall
from agentbook.traces.tree import build_tree

HERE = Path(__file__).parent


def _langfuse_tools(path: Path) -> int:
    return sum(o["type"] == "TOOL" for o in json.loads(path.read_text(encoding="utf-8"))["observations"])


def test_langfuse_tool_observations_are_tool_calls(run_cli: Callable[..., Any]) -> None:
    source = HERE / "data" / "agent-prism" / "langfuse-2.json"
    tools = _langfuse_tools(source)
    assert tools == 3
    result = run_cli("trace", "summary", source, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)["traces"][0]
    assert (data["tool_spans"], data["tool_calls"]) == (tools, tools)
    text = run_cli("trace", "summary", source)
    assert f"tool calls {tools}\n" in text.out


def test_otel_execute_tool_span_without_a_model_message_is_a_tool_call() -> None:
    source = HERE / "fixtures" / "wild" / "openinference_otel_genai_tool_execution_span.json"
    attrs = json.loads(source.read_text(encoding="utf-8"))
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert read_trace(source)[0].counts()["tool_calls"] == 1


@pytest.mark.parametrize(("fixture", "calls"), [
    ("otlp_events.json", 2),  # the model asks for call_1 in a message; call_1 and call_2 both run as spans
    ("openai_agents_export.json", 2),  # a function span per call, one call also in the response's output
    ("otel_console.json", 1),  # asked for and run: once
])
def test_calls_asked_for_and_run_count_once(fixture: str, calls: int) -> None:
    assert read_trace(HERE / "fixtures" / fixture)[0].counts()["tool_calls"] == calls


def test_history_replayed_by_later_model_calls_counts_once() -> None:
    """Each model call's input repeats the earlier assistant messages with their tool calls; with ids or
    without, each call counts once, and a tool span without an id runs a call of its name."""
    asked = [Message("assistant", tool_calls=[ToolCall("search", '{"q": "a"}')]),
             Message("assistant", tool_calls=[ToolCall("search", '{"q": "a"}'), ToolCall("read", "{}", "c2")])]
    spans = [Span("root", kind="agent"),
             Span("m1", parent_id="root", kind="llm", output_messages=asked[:1]),
             Span("t1", parent_id="root", kind="tool", tool_name="search"),
             Span("m2", parent_id="root", kind="llm", input_messages=asked[:1], output_messages=asked[1:]),
             Span("m3", parent_id="root", kind="llm", input_messages=asked),
             Span("t2", parent_id="root", kind="tool", tool_name="read", tool_call_id="c2"),
             Span("t3", parent_id="root", kind="tool", tool_name="search")]
    trace = build_tree(Trace(trace_id="t", format="otlp", spans=spans))
    # m2 asks for search {"q": "a"} a second time (its output holds two such calls after m1's one)
    assert trace.counts()["tool_calls"] == 3
    for span in spans:
        span.pack()
    assert trace.counts()["tool_calls"] == 3  # the same from packed spans, without unpacking them
    assert all(s._content is None for s in spans)
