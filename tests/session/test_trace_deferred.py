"""Spans closed inside an event loop are rendered at the loop's next turn (off the session's path from a
reply to its next request), in the order they closed; a trace rendered or written before then has them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agentbook.session.redact import Redactor
from agentbook.session.trace import TraceRecorder


def _names(text: str) -> list[str]:
    spans = json.loads(text)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    return [s["name"] for s in spans]


def test_spans_closed_in_a_loop_are_all_in_the_trace_in_order(tmp_path: Path) -> None:
    async def session() -> tuple[str, str]:
        rec = TraceRecorder(tmp_path / "trace.json", "s-1", Redactor([]))
        rec.tool(start_ns=1, call_id="a", name="read", args={"path": "x"}, result="one", is_error=False)
        rec.tool(start_ns=2, call_id="b", name="grep", args={"pattern": "y"}, result="two", is_error=False)
        first = rec.render()  # right away: nothing has run the loop since
        rec.chat(start_ns=3, model="m", request={"messages": [{"role": "user", "content": "hi"}]},
                 response={"id": "r", "model": "m", "content": [{"type": "text", "text": "ok"}],
                           "stop_reason": "end_turn"}, usage=None, cost_usd=None)
        await asyncio.sleep(0)  # the loop's next turn renders the chat span
        rec.finish({}, None)
        rec.write()
        return first, (tmp_path / "trace.json").read_text()

    first, written = asyncio.run(session())
    assert _names(first) == ["invoke_agent agentbook", "execute_tool read", "execute_tool grep"]
    assert _names(written) == ["invoke_agent agentbook", "execute_tool read", "execute_tool grep", "chat m"]


def test_without_an_event_loop_spans_are_rendered_at_once(tmp_path: Path) -> None:
    rec = TraceRecorder(tmp_path / "trace.json", "s-2", Redactor(["sk-secret-value-123"]))
    rec.tool(start_ns=1, call_id="a", name="bash", args={"command": "echo sk-secret-value-123"},
             result="sk-secret-value-123", is_error=False)
    text = rec.render()
    assert _names(text) == ["invoke_agent agentbook", "execute_tool bash"]
    assert "sk-secret-value-123" not in text
