"""Inspect AI eval logs: each sample a trace, its events the tree.

The fixture `fixtures/inspect_eval_log.json` is written here in the shape Inspect's JSON logs have (a
sample with spans, model calls, a tool span Inspect opened for each call, a failing call, attachments,
scores; an older sample with `step` events and a failed model call). The real logs are Inspect's own
test logs (`$AGENTBOOK_INTEROP/inspect/`, provenance there), skipped when absent; their counts are taken
from the JSON here, without the reader.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.traces import read_trace
from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many

FIXTURE = Path(__file__).parent / "fixtures" / "inspect_eval_log.json"


def test_a_sample_is_a_trace_whose_spans_hold_its_calls_tools_and_scores(tmp_path: Path) -> None:
    first, second = read_trace(FIXTURE)
    assert (first.format, first.trace_id, second.trace_id) == ("inspect", "INC-142-epoch-1", "INC-143-epoch-1")
    assert [(s.kind, s.name) for s in first.spans] == [
        ("agent", "oncall_rca sample INC-142-epoch-1"), ("chain", "init"), ("chain", "solvers"), ("chain", "react"),
        ("llm", "anthropic/claude-sonnet-4-5"), ("tool", "loki_query"), ("llm", "anthropic/claude-sonnet-4-5"),
        ("tool", "loki_query"), ("llm", "anthropic/claude-sonnet-4-5"), ("chain", "scorers"),
        ("chain", "model_graded_fact")]
    root, by_name = first.spans[0], {s.span_id: s for s in first.spans}
    llm, failed, tool = first.spans[4], first.spans[5], first.spans[7]
    # the attachment is put back; reasoning and the call are read; usage is the output's
    assert llm.input_messages[0].content.startswith("You are the on-call assistant")
    (reply,) = llm.output_messages
    assert (reply.reasoning, [c.name for c in reply.tool_calls], reply.finish_reason) == (
        "Logs first, then deploys.", ["loki_query"], "tool_calls")
    assert (llm.input_tokens, llm.output_tokens) == (812, 40)
    # the span Inspect opened for the call is the tool span, with its sandbox event; the error fails it
    assert (failed.status, failed.status_message, failed.tool_call_id) == (
        "error", "limit must be at most 100", "call_loki_01")
    assert [e["name"] for e in failed.events] == ["sandbox"] and by_name[failed.parent_id or ""].name == "react"
    assert json.loads(tool.tool_args or "") == {"query": '{app="checkout"} |= "timeout"', "limit": 50}
    assert (tool.tool_result or "").startswith("37 lines")
    # scores: the sample's on the root, the score event's on its scorer span
    assert root.scores[0]["name"] == "model_graded_fact" and first.spans[10].scores[0]["value"] == "C"
    # the one message no model call shows is the root's; the attachment nothing refers to is kept
    assert [m.content for m in root.input_messages] == ["Thanks, paging the owner of checkout-db."]
    assert root.attributes["attachments"] == {"fedcba9876543210fedcba9876543210": "an attachment nothing refers to"}
    assert first.metadata["plan"]["steps"][0]["solver"] == "react" and "plan" not in second.metadata
    assert second.metadata["eval"]["task"] == "oncall_rca"


def test_an_older_sample_with_step_events_and_a_failed_call(tmp_path: Path) -> None:
    _, second = read_trace(FIXTURE)
    root, step, llm = second.spans
    assert (step.kind, step.name, step.parent_id, llm.parent_id) == ("chain", "generate", root.span_id, step.span_id)
    assert (llm.status, llm.status_message) == ("error", "RateLimitError: 429 Too Many Requests")
    assert root.status == "error" and step.status == "error"  # the sample's error, the error event's span
    export_many(read_trace(FIXTURE), tmp_path / "out")
    assert measure(FIXTURE, tmp_path / "out").lost == []


def _expected(doc: dict[str, Any]) -> tuple[int, int, int, int]:
    """Traces, llm spans, tool spans and messages of an Inspect log, counted from its JSON."""
    samples = [s for s in doc.get("samples") or [] if isinstance(s, dict)]
    llm = tools = messages = 0

    def walk(events: list[dict[str, Any]], shown: set[str]) -> None:
        nonlocal llm, tools, messages
        for e in events:
            if e.get("event") == "model":
                llm += 1
                choices = (e.get("output") or {}).get("choices") or []
                messages += len(e.get("input") or []) + len(choices)
                shown.update(m.get("id") for m in e.get("input") or [])
                shown.update(c["message"].get("id") for c in choices)
            elif e.get("event") == "tool":
                tools += 1
                walk(e.get("events") or [], shown)

    for sample in samples:
        shown: set[str] = set()
        walk(sample.get("events") or (sample.get("transcript") or {}).get("events") or [], shown)
        messages += sum(1 for m in sample.get("messages") or [] if not m.get("id") or m["id"] not in shown)
    return max(len(samples), 1), llm, tools, messages


def test_inspect_logs_keep_every_sample_call_tool_and_message(tmp_path: Path,
                                                            count_folder: Callable[..., Any]) -> None:
    """Inspect's own logs (a browsing agent with tools, model-graded evals, older transcripts, a log with
    no samples): a trace per sample, an llm span per model event, a tool span per tool event, every message
    of the calls and of the conversation, and every string of the file, reach the folders."""
    folder = INTEROP / "inspect"
    sources = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not sources:
        pytest.skip(f"Inspect logs not present at {folder}")
    for source in sources:
        traces, llm, tools, messages = _expected(json.loads(source.read_text(encoding="utf-8")))
        read = read_trace(source)
        assert {t.format for t in read} == {"inspect"} and len(read) == traces, source.name
        export_many(read, tmp_path / source.stem)
        spans = [s for t in read for s in t.spans]
        assert (sum(s.kind == "llm" for s in spans), sum(s.kind == "tool" for s in spans)) == (llm, tools), source.name
        assert sum(s.message_count for s in spans) == messages, source.name
        assert all(not t.orphans for t in read), source.name
        assert measure(source, tmp_path / source.stem).lost == [], source.name
