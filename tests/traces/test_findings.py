"""What errors.md flags, span shape by span shape (and what it must not flag)."""

from __future__ import annotations

import pytest

from agentbook.traces import Message, Span, Trace
from agentbook.traces.findings import find
from agentbook.traces.tree import build_tree

CASES = [
    ("failed", Span("s", kind="llm", status="error", status_message="HTTP 529"), [("failed", "HTTP 529")]),
    ("tool error", Span("s", kind="tool", status="error"), [("tool_error", "status ERROR, no message")]),
    ("empty reply", Span("s", kind="llm", input_messages=[Message("user", "hi")],
                         output_messages=[Message("assistant", "")]),
     [("empty_output", "the model's reply has no text and no tool calls")]),
    ("input, no output", Span("s", kind="llm", input_messages=[Message("user", "hi")]),
     [("empty_output", "input recorded but no output")]),
    ("content not captured", Span("s", kind="llm", model="m", input_tokens=10), []),
    ("cut off", Span("s", kind="llm", output_messages=[Message("assistant", "The cause is", finish_reason="length")]),
     [("truncated_output", "finish reason length")]),
    ("filtered", Span("s", kind="llm", output_messages=[Message("assistant", "x", finish_reason="content_filter")]),
     [("refusal", "finish reason content_filter")]),
    ("refusal text", Span("s", kind="llm", output_messages=[Message("assistant", "I can't help with that.")]),
     [("refusal", "reply starts: I can't help with that.")]),
    ("polite answer", Span("s", kind="llm", output_messages=[Message("assistant", "Sorry for the wait: disk full.")]),
     []),
    ("warning", Span("s", kind="chain", warnings=["level WARNING: slow"]), [("warning", "level WARNING: slow")]),
    ("fine", Span("s", kind="tool", status="ok", tool_args="{}", tool_result="ok"), []),
]


@pytest.mark.parametrize(("case", "span", "expected"), CASES, ids=[c[0] for c in CASES])
def test_findings_by_shape(case: str, span: Span, expected: list[tuple[str, str]]) -> None:
    trace = build_tree(Trace(trace_id="t", format="otlp", spans=[span]))
    assert [(f.section, f.detail) for f in find(trace, [span])] == expected


def test_retry_points_at_the_failed_sibling() -> None:
    spans = [Span("root", kind="agent"),
             Span("a", parent_id="root", kind="tool", name="query", status="error", start_ns=1),
             Span("b", parent_id="root", kind="tool", name="query", status="ok", start_ns=2),
             Span("c", parent_id="root", kind="tool", name="other", status="ok", start_ns=3)]
    trace = build_tree(Trace(trace_id="t", format="otlp", spans=spans))
    retries = [f for f in find(trace, spans) if f.section == "retry"]
    assert [(f.span.span_id, f.related.span_id if f.related else None) for f in retries] == [("b", "a")]
