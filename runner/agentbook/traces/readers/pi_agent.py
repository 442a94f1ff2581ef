"""Pi coding agent sessions (`~/.pi/agent/sessions/<cwd>/<time>_<id>.jsonl`).

JSON Lines: a `session` header (`version`, `id`, `timestamp`, `cwd`), then entries with `id`,
`parentId` and `timestamp`: `message` (`message.role` `user`, `assistant` or `toolResult`; content
blocks `text`, `thinking`, `toolCall` with `id`/`name`/`arguments`, `image`; an assistant message's
`model`, `provider`, `usage` with `input`/`output`/`cacheRead`/`cacheWrite` and `cost`, `stopReason`,
`errorMessage`; a tool result's `toolCallId`, `toolName`, `isError`, `details`), and the session's own
(`session_info`, `model_change`, `thinking_level_change`, `compaction`, ...).

The session becomes an agent span; each assistant message an llm span whose input is what arrived
since the previous one (user messages, tool results); each `toolCall` a tool span under it whose
result is the matching `toolResult` (`isError` fails it); an assistant message that stopped on an
error fails its span. Other entries are kept verbatim on the session, and fields no rule reads too.
"""

from __future__ import annotations

from typing import Any

from ..load import Documents
from ..model import Message, Span, ToolCall, Trace
from ..values import as_dict, as_float, as_int, as_list, as_text, to_ns
from . import Reader
from .common import SessionLog

ROLES = {"user", "assistant", "toolResult"}
ENTRY_READ = {"type", "id", "parentId", "timestamp", "message"}
MESSAGE_READ = {"role", "content", "model", "usage", "stopReason", "errorMessage", "toolCallId", "toolName", "isError"}


def _is_entry(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("type"), str) and "id" in doc and "parentId" in doc


def _detect(docs: list[Any]) -> bool:
    head = docs[0] if docs else None
    if isinstance(head, dict) and head.get("type") == "session" and "version" in head and "cwd" in head:
        return all(_is_entry(d) for d in docs[1:])
    return bool(docs) and all(_is_entry(d) for d in docs) and any(
        d["type"] == "message" and as_dict(d.get("message")).get("role") in ROLES for d in docs)


def _text(content: Any) -> str:
    """Content blocks: `text` as its text, any other block as its JSON (images, unknown kinds)."""
    if isinstance(content, list):
        return "\n".join(as_text(b.get("text")) if isinstance(b, dict) and b.get("type") == "text" and set(b) <= {
            "type", "text"} else as_text(b) for b in content)
    return as_text(content)


class _Session(SessionLog):
    def __init__(self, source: str) -> None:
        super().__init__(Trace(trace_id="pi-session", format="pi-agent", source=source, name="pi session"),
                         Span(span_id="session", trace_id="pi-session", kind="agent", name="pi session", status="ok"))
        self.model = ""

    def add(self, n: int, entry: Any) -> None:
        if not isinstance(entry, dict):
            self.trace.keep_unread(self.root, "record", {"value": entry})
            return
        now = to_ns(entry.get("timestamp"))
        self.widen(now)
        kind = entry.get("type")
        message = entry.get("message")
        if kind == "session" and n == 0:
            self.on_header(entry)
        elif kind == "message" and isinstance(message, dict) and message.get("role") in ROLES:
            self.on_message(n, entry, message, now)
        else:
            if kind == "model_change":
                self.model = as_text(entry.get("modelId") or self.model)
            self.root.events.append({"name": as_text(kind or "record"), "time_ns": now, "attributes": entry})

    def on_header(self, header: dict[str, Any]) -> None:
        session = as_text(header.get("id") or "pi-session")
        self.trace.trace_id = self.root.trace_id = session
        self.trace.name = f"pi session {session}"
        self.root.attributes["session"] = {k: v for k, v in header.items() if k not in ("type", "id")}

    def on_message(self, n: int, entry: dict[str, Any], message: dict[str, Any], now: int | None) -> None:
        role = message["role"]
        target = self.root
        if role == "user":
            self.pending.append(Message(role="user", content=_text(message.get("content")), time_ns=now))
        elif role == "toolResult":
            text = _text(message.get("content"))
            tool = self.tool_result(as_text(message.get("toolCallId") or ""), text, now)
            if tool is not None:
                target = tool
                if message.get("isError"):
                    tool.status = "error"
                    tool.status_message = text.strip().splitlines()[0][:300] if text.strip() else "tool returned an error"
        else:
            target = self.on_assistant(n, message, now)
        rest = {k: v for k, v in message.items() if k not in MESSAGE_READ}
        target.events.append({"name": f"{role} entry", "time_ns": now, "attributes": {
            **{k: v for k, v in entry.items() if k not in ENTRY_READ | {"type"}}, "id": entry.get("id"),
            "parentId": entry.get("parentId"), **({"message": rest} if rest else {})}})

    def on_assistant(self, n: int, message: dict[str, Any], now: int | None) -> Span:
        model = as_text(message.get("model") or self.model)
        turn = self.child(self.root, f"turn-{n:05d}", kind="llm", name=f"{model or 'model'} turn", status="ok",
                          model=model, start_ns=now, end_ns=now)
        self.root.model = self.root.model or model
        turn.input_messages, self.pending = self.pending, []
        reply = Message(role="assistant", time_ns=now, finish_reason=as_text(message.get("stopReason") or ""))
        turn.output_messages.append(reply)
        texts = []
        for block in as_list(message.get("content")):
            kind = as_dict(block).get("type")
            if kind == "thinking":
                reply.reasoning = "\n".join(x for x in (reply.reasoning, as_text(block.get("thinking"))) if x)
                if set(block) - {"type", "thinking"}:
                    turn.attributes.setdefault("thinking", []).append(block)
            elif kind == "toolCall":
                self.tool_call(turn, reply, ToolCall(name=as_text(block.get("name") or ""), arguments=as_text(
                    block.get("arguments")), id=as_text(block.get("id") or "")), now)
            else:
                texts.append(_text([block]))
        reply.content = "\n".join(t for t in texts if t)
        usage = as_dict(message.get("usage"))
        if usage:
            turn.input_tokens = sum(as_int(usage.get(k)) or 0 for k in ("input", "cacheRead", "cacheWrite"))
            turn.output_tokens = as_int(usage.get("output"))
            turn.cost_usd = as_float(as_dict(usage.get("cost")).get("total"))
            turn.attributes["usage"] = usage
        if message.get("stopReason") in ("error", "aborted") or message.get("errorMessage"):
            turn.status = "error"
            turn.status_message = as_text(message.get("errorMessage") or f"stopped: {message.get('stopReason')}")[:300]
        return turn


def _read(docs: Documents, source: str) -> list[Trace]:
    session = _Session(source)
    for n, entry in enumerate(docs.iterate()):
        session.add(n, entry)
    session.keep_unanswered()
    for span in session.trace.spans:
        span.trace_id = session.trace.trace_id
    session.total_tokens()
    return [session.trace]


READER = Reader(name="pi-agent", priority=24, detect=_detect, read=_read,
                expects="Pi coding agent session (JSON Lines: a `session` header, then entries with `id`, "
                        "`parentId`; `message` entries of role user/assistant/toolResult)")
