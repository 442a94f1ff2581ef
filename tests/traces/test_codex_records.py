"""What a Codex rollout records beyond the conversation reaches the export: the time of each later item
of a run of model output, the session's token totals and context window, and calls that never returned
(cut off by an aborted turn: failed; otherwise flagged). Checked on a generated rollout and on the real
interop samples (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP

from agentbook.traces.conservation import measure
from agentbook.traces.export import export_many
from agentbook.traces.read import read_trace

REAL = sorted((INTEROP / "codex").glob("agent-history_*.jsonl")) if (INTEROP / "codex").is_dir() else []


def _rec(second: int, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": f"2025-12-05T11:00:{second:02d}.000Z", "type": kind, "payload": payload}


def _item(second: int, payload: dict[str, Any]) -> dict[str, Any]:
    return _rec(second, "response_item", payload)


def _call(second: int, call_id: str, command: str) -> dict[str, Any]:
    return _item(second, {"type": "function_call", "name": "shell", "arguments": json.dumps({"command": command}),
                          "call_id": call_id})


def _say(second: int, role: str, text: str) -> dict[str, Any]:
    part = "input_text" if role == "user" else "output_text"
    return _item(second, {"type": "message", "role": role, "content": [{"type": part, "text": text}]})


ROLLOUT = [
    _rec(0, "session_meta", {"id": "s-esc", "cli_version": "0.77.0"}),
    _rec(1, "turn_context", {"model": "gpt-5-codex"}),
    _say(2, "user", "Overwrite the file."),
    _item(5, {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Needs escalation."}]}),
    _say(6, "assistant", "I'll ask to write it."),
    _call(7, "call_1", "printf x > test.txt"),
    _say(10, "user", "Never mind."),
    _call(12, "call_2", "rm test.txt"),
    _rec(14, "event_msg", {"type": "turn_aborted", "reason": "user_cancelled"}),
    _rec(15, "event_msg", {"type": "token_count", "info": {
        "total_token_usage": {"input_tokens": 1500, "cached_input_tokens": 500, "output_tokens": 800,
                              "total_tokens": 2400},
        "last_token_usage": {"input_tokens": 200, "output_tokens": 100, "total_tokens": 320},
        "model_context_window": 128000}}),
]


def test_unreturned_calls_later_items_and_token_totals(tmp_path: Path) -> None:
    source = tmp_path / "rollout.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in ROLLOUT), encoding="utf-8")
    (trace,) = read_trace(source)
    tools = {s.tool_call_id: s for s in trace.spans if s.kind == "tool"}
    assert (tools["call_1"].status, tools["call_1"].warnings) == ("ok", ["the rollout records no output for this call"])
    assert tools["call_2"].status == "error" and "user_cancelled" in tools["call_2"].status_message
    first = next(s for s in trace.spans if s.kind == "llm")
    assert first.attributes["continued_at"] == ["2025-12-05T11:00:06.000Z", "2025-12-05T11:00:07.000Z"]
    usage = trace.roots[0].attributes["token_usage"]
    assert (usage["total_token_usage"]["total_tokens"], usage["model_context_window"]) == (2400, 128000)
    export_many([trace], tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []


@pytest.mark.skipif(not REAL, reason="interop codex samples from agent-history absent")
@pytest.mark.parametrize("source", REAL, ids=lambda p: p.name)
def test_real_rollouts_reach_the_export_whole(source: Path, tmp_path: Path) -> None:
    export_many(read_trace(source), tmp_path / "out")
    assert measure(source, tmp_path / "out").lost == []
