"""Conversation history for a resumed session: repair a cut-off one, or rebuild it from a transcript.

A session killed between the model's tool request and the tool results leaves an assistant message
whose `tool_use` blocks have no answers, which the API rejects; `repair` answers them as not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentbook.fsutil import read_jsonl

INTERRUPTED = "not run: the session was interrupted before this call ran; check the state and retry"


def repair(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of `messages` without cache breakpoints (the session places its own, and the API allows
    four) in which every tool_use of the last assistant message has a result."""
    out = [_without_breakpoints(m) for m in messages]
    if not out or out[-1].get("role") != "assistant" or not isinstance(out[-1].get("content"), list):
        return out
    pending = [b for b in out[-1]["content"] if b.get("type") == "tool_use"]
    if pending:
        out.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": b.get("id", ""), "content": INTERRUPTED, "is_error": True}
            for b in pending]})
    return out


def _without_breakpoints(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return dict(message)
    blocks = [{k: v for k, v in b.items() if k != "cache_control"} if isinstance(b, dict) else b for b in content]
    return {**message, "content": blocks}


def history_from_transcript(path: Path | str) -> list[dict[str, Any]]:
    """The messages a session had sent and received, rebuilt from its transcript (after a kill -9).

    Secrets were redacted in the transcript, so they are `[REDACTED]` in the rebuilt history too.
    """
    messages: list[dict[str, Any]] = []
    for event in read_jsonl(path):
        kind = event.get("event")
        if kind in ("user", "budget_warning", "note"):
            _user_block(messages, {"type": "text", "text": str(event.get("text", ""))})
        elif kind == "assistant" and event.get("content"):
            messages.append({"role": "assistant", "content": list(event["content"])})
        elif kind == "tool":
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": event.get("id", ""),
                                     "content": str(event.get("content", ""))}
            if event.get("is_error"):
                block["is_error"] = True
            _user_block(messages, block)
    return repair(messages)


def _user_block(messages: list[dict[str, Any]], block: dict[str, Any]) -> None:
    if messages and messages[-1]["role"] == "user":
        messages[-1]["content"].append(block)
    else:
        messages.append({"role": "user", "content": [block]})
