"""What errors.md flags, span shape by span shape (and what it must not flag)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentbook.traces import Message, Span, Trace, export_trace
from agentbook.traces.errors_md import LISTED_ERRORS
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


BASH_CASES = [
    ("another command", '{"command": "grep -rn TODO src"}', '{"command": "ls -la docs"}', []),
    ("the same command", '{"command": "pytest tests/x"}', '{"command":  "pytest tests/x"}', [("b", "a")]),
    ("a flag added", '{"command": "grep -rn timeout runner/agentbook"}',
     '{"command": "grep -rni timeout runner/agentbook"}', [("b", "a")]),
    ("a query cut back to what parses", '{"query": "{app=\\"api\\"} |= \\"error\\" | json | status >= 500"}',
     '{"query": "{app=\\"api\\"} |= \\"error\\" | json"}', [("b", "a")]),
]


@pytest.mark.parametrize(("case", "first", "then", "expected"), BASH_CASES, ids=[c[0] for c in BASH_CASES])
def test_a_tool_call_is_a_retry_only_with_the_same_arguments(case: str, first: str, then: str,
                                                              expected: list[tuple[str, str]]) -> None:
    """A bash call after a failed one is the next command unless it runs (nearly) the same one again."""
    spans = [Span("root", kind="agent"),
             Span("a", parent_id="root", kind="tool", name="bash", tool_name="bash", status="error", start_ns=1,
                  tool_args=first),
             Span("b", parent_id="root", kind="tool", name="bash", tool_name="bash", status="ok", start_ns=2,
                  tool_args=then)]
    trace = build_tree(Trace(trace_id="t", format="otlp", spans=spans))
    retries = [f for f in find(trace, spans) if f.section == "retry"]
    assert [(f.span.span_id, f.related.span_id if f.related else None) for f in retries] == expected


def test_errors_md_lists_real_errors_in_full_up_to_a_bound(tmp_path: Path) -> None:
    """Failed spans are listed one by one (the message in full), 200 of them; findings.tsv has the rest.
    A short suspicious section stays a list; a long one is one line per kind."""
    spans = [Span("root", kind="agent")]
    spans += [Span(f"f{n}", parent_id="root", kind="llm", name="chat", status="error", start_ns=n,
                   status_message=f"HTTP 529 overloaded, attempt {n}") for n in range(250)]
    spans += [Span(f"c{n}", parent_id="root", kind="llm", name="chat", start_ns=1000 + n,
                   output_messages=[Message("assistant", "The cause", finish_reason="length")]) for n in range(3)]
    export_trace(build_tree(Trace(trace_id="t", format="otlp", spans=spans)), tmp_path / "out", "folders")
    errors = (tmp_path / "out" / "errors.md").read_text(encoding="utf-8")
    listed = re.findall(r"^- `[^`]+` llm `chat`: HTTP 529 overloaded, attempt (\d+)$", errors, re.MULTILINE)
    assert listed == [str(n) for n in range(LISTED_ERRORS)]
    assert f"- ... and {250 - LISTED_ERRORS} more, one a line in `findings.tsv`" in errors
    assert len(re.findall(r"^- `[^`]+` llm `chat`: finish reason length$", errors, re.MULTILINE)) == 3
    # retries of the failed calls: more than a short list, so one line for all of them
    assert re.search(r"^- 250 llm spans: runs again after a failed span; names `chat` x250;", errors, re.MULTILINE)
    rows = (tmp_path / "out" / "findings.tsv").read_text(encoding="utf-8").splitlines()
    assert sum(r.startswith("failed\t") for r in rows) == 250 and sum(r.startswith("retry\t") for r in rows) == 250
