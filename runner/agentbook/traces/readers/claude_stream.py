"""Claude Code's print-mode output (`claude -p --output-format stream-json --verbose`), and the
Claude Agent SDK messages it is made of.

One JSON object per line: `system` (subtype `init`: cwd, model, tools, MCP servers, permission mode;
later subtypes such as hook and status notices), `assistant` and `user` lines carrying the same
Anthropic `message` as a session transcript, `stream_event` lines (partial messages, with
`--include-partial-messages`) and a closing `result` (subtype `success` or `error_*`, `is_error`, the
final text, `total_cost_usd`, `usage`, durations, permission denials). Fields are snake_case
(`session_id`, `tool_use_result`) where the transcript has camelCase; a subagent's lines name the Task
call that started it (`parent_tool_use_id`), and its turns go under that call.

Messages are read as the Claude Code transcript reader reads them; the `result` line sets the session
span's status, final output and cost. The init and result lines are kept whole on the session span,
every other line that is not a message verbatim as its event, so nothing is dropped.
"""

from __future__ import annotations

from typing import Any

from ..load import Documents
from ..model import Span, Trace
from ..values import as_float, as_text, to_ns
from . import Reader
from .claude_code import MESSAGE_TYPES, Session, read_sessions

RENAMED = {"session_id": "sessionId", "tool_use_result": "toolUseResult"}  # stream-json -> transcript spelling
LINE_TYPES = MESSAGE_TYPES | {"system", "result", "stream_event"}


def _detect(docs: list[Any]) -> bool:
    lines = [d for d in docs if isinstance(d, dict)]
    return len(lines) == len(docs) and any(
        isinstance(d.get("type"), str) and d["type"] in LINE_TYPES and "session_id" in d and "sessionId" not in d for d in lines)


class _StreamSession(Session):
    def __init__(self, session: str, source: str) -> None:
        super().__init__(session, source)
        self.trace.format = "claude-stream"
        self.trace.name = f"claude -p session {session}"
        self.subagents: dict[str, Span] = {}  # Task tool call id -> the subagent's span

    def agent_for(self, rec: dict[str, Any], n: int) -> Span:
        """A line with `parent_tool_use_id` is a subagent's (the Task tool call it names): one agent span
        per such call, under that call's tool span."""
        call_id = str(rec.get("parent_tool_use_id") or "")
        if not call_id:
            return super().agent_for(rec, n)
        owner = self.subagents.get(call_id)
        if owner is None:
            owner = self.subagents[call_id] = self.child(self.tools.get(call_id, self.root), f"subagent-{n:05d}",
                                                         kind="agent", name="subagent", status="ok")
        self.owner[str(rec.get("uuid") or n)] = owner
        now = to_ns(rec.get("timestamp"))
        owner.start_ns, owner.end_ns = owner.start_ns or now, now or owner.end_ns
        return owner

    def add(self, n: int, rec: dict[str, Any]) -> None:
        """The init and result lines are kept whole on the session span (`init`, `result`); messages are
        read as in a transcript; any other line is kept verbatim as an event of the session span."""
        if rec.get("type") == "system" and rec.get("subtype") == "init" and "init" not in self.root.attributes:
            self.root.model = self.root.model or as_text(rec.get("model"))
            self.root.attributes["init"] = rec
        elif rec.get("type") == "result" and "result" not in self.root.attributes:
            self.on_result(rec)
            self.root.attributes["result"] = rec
        else:
            super().add(n, {RENAMED.get(k, k): v for k, v in rec.items()})

    def on_result(self, rec: dict[str, Any]) -> None:
        failed = rec.get("is_error") is True or str(rec.get("subtype") or "").startswith("error")
        self.root.status = "error" if failed else "ok"
        if failed:
            text = as_text(rec.get("result")) or as_text(rec.get("errors")) or as_text(rec.get("subtype"))
            self.root.status_message = text.strip().splitlines()[0][:300] if text.strip() else "session failed"
        if rec.get("result") is not None:
            self.root.output_text = as_text(rec["result"])
        cost = as_float(rec.get("total_cost_usd"))
        if cost is not None:
            self.root.cost_usd = cost


def _read(docs: Documents, source: str) -> list[Trace]:
    return read_sessions(docs.iterate(), source, _StreamSession, key_field="session_id")


READER = Reader(name="claude-stream", priority=25, detect=_detect, read=_read,
                expects="`claude -p --output-format stream-json` output (JSON Lines with `type`, `session_id`; "
                        "system init, assistant/user messages, result)")
