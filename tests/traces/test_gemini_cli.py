"""Gemini CLI sessions (`~/.gemini/tmp/<hash>/chats/session-*.json`, or the same as JSON Lines) are read:
user messages, each `gemini` reply as a model turn with its thoughts, tokens and tool calls (a failed or
cancelled call fails its span), the CLI's own info/error messages as events. Checked on generated
sessions and on the real interop samples (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many
from agentbook.traces.read import read_trace

REAL = sorted((INTEROP / "gemini-cli").glob("*.json*")) if (INTEROP / "gemini-cli").is_dir() else []
HEADER = {"sessionId": "g-1", "projectHash": "d30f9106", "startTime": "2026-06-05T04:59:39.932Z",
          "lastUpdated": "2026-06-05T05:00:30.000Z", "kind": "main"}


def _call(call_id: str, status: str, response: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": call_id, "name": "run_shell_command", "args": {"command": f"run {call_id}"}, "status": status,
            "timestamp": "2026-06-05T05:00:05.000Z", "displayName": "Shell",
            "result": [{"functionResponse": {"id": call_id, "name": "run_shell_command", "response": response}}],
            **extra}


MESSAGES = [
    {"id": "m1", "timestamp": "2026-06-05T05:00:00.000Z", "type": "user", "content": [{"text": "Why is CI red?"}]},
    {"id": "m2", "timestamp": "2026-06-05T05:00:10.000Z", "type": "gemini", "model": "gemini-2.5-pro",
     "content": "Let me run the tests.", "thoughts": [{"subject": "Plan", "description": "Run the suite first.",
                                                       "timestamp": "2026-06-05T05:00:02.000Z"}],
     "tokens": {"input": 4383, "output": 80, "cached": 1200, "thoughts": 28, "tool": 15, "total": 5706},
     "toolCalls": [_call("c1", "success", {"output": "2 failed: test_login"}),
                   _call("c2", "error", {"error": "Command timed out after 120s"}),
                   _call("c3", "cancelled", {"output": "cancelled by the user"})]},
    {"id": "m3", "timestamp": "2026-06-05T05:00:20.000Z", "type": "error", "content": "Quota exceeded for gemini-2.5-pro"},
    {"id": "m4", "timestamp": "2026-06-05T05:00:30.000Z", "type": "gemini", "model": "gemini-2.5-flash",
     "content": "test_login fails on an expired fixture token.", "tokens": {"input": 5000, "output": 20}},
]


@pytest.mark.parametrize("shape", ["document", "lines"])
def test_a_gemini_cli_session_is_read(shape: str, tmp_path: Path) -> None:
    source = tmp_path / f"session.{'json' if shape == 'document' else 'jsonl'}"
    docs = [{**HEADER, "messages": MESSAGES}] if shape == "document" else [HEADER, *MESSAGES]
    source.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    (trace,) = read_trace(source)
    assert (trace.format, trace.trace_id) == ("gemini-cli", "g-1")
    turns = [s for s in trace.spans if s.kind == "llm"]
    assert [(t.model, t.input_tokens, t.output_tokens) for t in turns] == [("gemini-2.5-pro", 4383, 80),
                                                                          ("gemini-2.5-flash", 5000, 20)]
    assert [m.content for m in turns[0].input_messages] == ["Why is CI red?"]
    assert turns[0].output_messages[0].reasoning == "Plan: Run the suite first."
    tools = {s.tool_call_id: s for s in trace.spans if s.kind == "tool"}
    assert [(tools[c].status, tools[c].tool_result) for c in ("c1", "c2", "c3")] == [
        ("ok", "2 failed: test_login"), ("error", "Command timed out after 120s"), ("error", "cancelled by the user")]
    assert [m.role for m in turns[1].input_messages] == ["tool", "tool", "tool"]  # the calls' results come back
    assert any("Quota exceeded" in w for w in trace.roots[0].warnings)
    export_many([trace], tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []


@pytest.mark.skipif(not REAL, reason="interop gemini-cli samples absent")
@pytest.mark.parametrize("source", REAL, ids=lambda p: p.name)
def test_real_gemini_cli_sessions_reach_the_export_whole(source: Path, tmp_path: Path) -> None:
    (trace,) = read_trace(source)
    assert trace.format == "gemini-cli" and any(s.kind == "llm" and s.model for s in trace.spans)
    export_many([trace], tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []
