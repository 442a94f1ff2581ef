"""Pi coding agent sessions (JSON Lines: a `session` header, then `message` entries of role user /
assistant / toolResult and the session's own entries) are read: assistant messages as model turns with
usage and cost, `toolCall` blocks as tool spans with their `toolResult` (`isError` fails it), an
assistant message that stopped on an error as a failed turn. Checked on a generated session and on the
real interop sample (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many
from agentbook.traces.read import read_trace

REAL = sorted((INTEROP / "pi-agent").glob("*.jsonl")) if (INTEROP / "pi-agent").is_dir() else []


def _entry(n: int, message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "id": f"e{n}", "parentId": f"e{n - 1}", "timestamp": f"2026-06-05T05:24:{n:02d}.000Z",
            "message": {**message, "timestamp": 1780637068000 + n}}


def _assistant(n: int, content: list[dict[str, Any]], stop: str, **extra: Any) -> dict[str, Any]:
    return _entry(n, {"role": "assistant", "content": content, "provider": "anthropic", "model": "claude-sonnet-4-5",
                      "usage": {"input": 433, "output": 9, "cacheRead": 100, "cacheWrite": 0, "totalTokens": 542,
                                "cost": {"total": 0.002435}}, "stopReason": stop, **extra})


SESSION = [
    {"type": "session", "version": 3, "id": "pi-1", "timestamp": "2026-06-05T05:24:00.000Z", "cwd": "/w"},
    {"type": "model_change", "id": "e0", "parentId": None, "timestamp": "2026-06-05T05:24:00.000Z",
     "provider": "anthropic", "modelId": "claude-sonnet-4-5"},
    _entry(1, {"role": "user", "content": [{"type": "text", "text": "Run the tests."}]}),
    _assistant(2, [{"type": "thinking", "thinking": "Use cargo.", "thinkingSignature": "sig-1"},
                   {"type": "toolCall", "id": "call-1", "name": "bash", "arguments": {"command": "cargo test"}},
                   {"type": "toolCall", "id": "call-2", "name": "read", "arguments": {"path": "Cargo.lock"}}], "toolUse"),
    _entry(3, {"role": "toolResult", "toolCallId": "call-1", "toolName": "bash", "isError": False,
               "content": [{"type": "text", "text": "all 42 tests passed"}], "details": {"exitCode": 0}}),
    _entry(4, {"role": "toolResult", "toolCallId": "call-2", "toolName": "read", "isError": True,
               "content": [{"type": "text", "text": "ENOENT: Cargo.lock"}]}),
    _assistant(5, [], "error", errorMessage="overloaded_error: the model is overloaded"),
]


def test_a_pi_session_is_read(tmp_path: Path) -> None:
    source = tmp_path / "session.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in SESSION), encoding="utf-8")
    (trace,) = read_trace(source)
    assert (trace.format, trace.trace_id) == ("pi-agent", "pi-1")
    first, second = [s for s in trace.spans if s.kind == "llm"]
    assert (first.model, first.input_tokens, first.output_tokens, first.cost_usd) == ("claude-sonnet-4-5", 533, 9,
                                                                                     0.002435)
    assert first.output_messages[0].reasoning == "Use cargo."
    assert [m.content for m in first.input_messages] == ["Run the tests."]
    tools = {s.tool_call_id: s for s in trace.spans if s.kind == "tool"}
    assert [(tools[c].status, tools[c].tool_result) for c in ("call-1", "call-2")] == [
        ("ok", "all 42 tests passed"), ("error", "ENOENT: Cargo.lock")]
    assert [m.role for m in second.input_messages] == ["tool", "tool"]
    assert second.status == "error" and "overloaded" in second.status_message
    export_many([trace], tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []


@pytest.mark.skipif(not REAL, reason="interop pi-agent samples absent")
@pytest.mark.parametrize("source", REAL, ids=lambda p: p.name)
def test_real_pi_sessions_reach_the_export_whole(source: Path, tmp_path: Path) -> None:
    (trace,) = read_trace(source)
    assert trace.format == "pi-agent" and any(s.kind == "llm" and s.model for s in trace.spans)
    export_many([trace], tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []
