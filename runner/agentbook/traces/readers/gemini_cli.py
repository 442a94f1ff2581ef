"""Gemini CLI sessions (`~/.gemini/tmp/<project hash>/chats/session-*.json`).

One JSON document `{sessionId, projectHash, startTime, lastUpdated, messages: [...]}`, or the same as
JSON Lines: that header on the first line, then one message a line. A message has `id`, `timestamp`,
`type` (`user`, `gemini`, or the CLI's own `info` / `warning` / `error`) and `content` (a string or a
list of parts, `{text}` and others); a `gemini` message also `model`, `thoughts` (`subject`,
`description`), `tokens` (`input`, `output`, `cached`, `thoughts`, `tool`, `total`) and `toolCalls`
(`id`, `name`, `args`, `result` as `functionResponse` parts, `status`, `timestamp`, `error`).

The session becomes an agent span; each `gemini` message an llm span whose input is what arrived
since the previous one (user messages, the previous calls' results), each tool call a tool span under
it, failed when its status is `error` or `cancelled`. `info` / `warning` / `error` messages are events
of the session (an error one also a warning on it). Fields no rule reads are kept verbatim.
"""

from __future__ import annotations

from typing import Any

from ..load import Documents
from ..model import Message, Span, ToolCall, Trace
from ..values import as_dict, as_int, as_list, as_text, to_ns
from . import Reader
from .common import SessionLog

TYPES = {"user", "gemini", "info", "warning", "error"}
HEADER = ("sessionId", "projectHash", "startTime", "lastUpdated")
MESSAGE_READ = {"id", "timestamp", "type", "content", "model", "thoughts", "tokens", "toolCalls", "sessionId"}
CALL_READ = {"id", "name", "args", "result", "status", "timestamp", "error"}
FAILED = {"error", "cancelled"}


def _is_message(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("type") in TYPES and "id" in doc and "timestamp" in doc


def _is_header(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("sessionId"), str) and "projectHash" in doc


def _detect(docs: list[Any]) -> bool:
    if not docs or not _is_header(docs[0]):
        return False
    messages = docs[0].get("messages")
    if isinstance(messages, list):  # one document
        return len(docs) == 1 and all(_is_message(m) for m in messages[:5])
    return len(docs) > 1 and all(_is_message(d) for d in docs[1:])  # JSON Lines


def _text(content: Any) -> str:
    """A message's content: a string, or parts (`{text}`; any other part as its JSON)."""
    if isinstance(content, list):
        return "\n".join(as_text(p.get("text")) if isinstance(p, dict) and set(p) == {"text"} else as_text(p)
                         for p in content)
    return as_text(content)


def _result(result: Any) -> str:
    """A call's result: each `functionResponse`'s response output (or error), else the part as is."""
    texts = []
    for part in as_list(result) if isinstance(result, list) else [result]:
        response = as_dict(as_dict(as_dict(part).get("functionResponse")).get("response"))
        if set(response) <= {"output", "error"} and response:
            texts.append("\n".join(as_text(response[k]) for k in ("output", "error") if k in response))
        elif part is not None:
            texts.append(as_text(part))
    return "\n".join(texts)


class _Session(SessionLog):
    def __init__(self, header: dict[str, Any], source: str) -> None:
        session = as_text(header.get("sessionId") or "gemini-session")
        super().__init__(Trace(trace_id=session, format="gemini-cli", source=source, name=f"gemini cli session {session}"),
                         Span(span_id="session", trace_id=session, kind="agent", name="gemini cli session",
                              status="ok", start_ns=to_ns(header.get("startTime")), end_ns=to_ns(header.get("lastUpdated"))))
        rest = {k: v for k, v in header.items() if k not in ("sessionId", "messages")}
        if rest:
            self.root.attributes["session"] = rest

    def add(self, n: int, msg: Any) -> None:
        if not _is_message(msg):
            self.trace.keep_unread(self.root, "record", msg if isinstance(msg, dict) else {"value": msg})
            return
        now = to_ns(msg.get("timestamp"))
        self.widen(now)
        kind = msg["type"]
        turn = self.root
        if kind == "user":
            self.pending.append(Message(role="user", content=_text(msg.get("content")), time_ns=now))
        elif kind == "gemini":
            turn = self.on_reply(n, msg, now)
        else:
            self.root.events.append({"name": kind, "time_ns": now, "attributes": msg})
            if kind in ("error", "warning"):
                self.root.warnings.append(f"{kind}: {_text(msg.get('content'))[:300]}")
            return
        rest = {k: v for k, v in msg.items() if k not in MESSAGE_READ}
        if rest or msg.get("id"):  # the message's id and any field no rule reads
            target = turn if kind == "gemini" else self.root
            target.events.append({"name": f"{kind} message", "time_ns": now, "attributes": {"id": msg.get("id"), **rest}})

    def on_reply(self, n: int, msg: dict[str, Any], now: int | None) -> Span:
        model = as_text(msg.get("model") or "")
        turn = self.child(self.root, f"turn-{n:05d}", kind="llm", name=f"{model or 'model'} turn", status="ok",
                          model=model, start_ns=now, end_ns=now)
        self.root.model = self.root.model or model
        turn.input_messages, self.pending = self.pending, []
        thoughts = [as_dict(t) for t in as_list(msg.get("thoughts"))]
        reply = Message(role="assistant", content=_text(msg.get("content")), time_ns=now, reasoning="\n\n".join(
            f"{as_text(t.get('subject'))}: {as_text(t.get('description'))}".strip(": ") for t in thoughts))
        turn.output_messages.append(reply)
        if thoughts:
            turn.attributes["thoughts"] = msg["thoughts"]  # their times and any other field, verbatim
        tokens = as_dict(msg.get("tokens"))
        if tokens:
            turn.input_tokens, turn.output_tokens = as_int(tokens.get("input")), as_int(tokens.get("output"))
            turn.attributes["tokens"] = tokens
        for call in as_list(msg.get("toolCalls")):
            self.on_call(turn, reply, as_dict(call), now)
        turn.start_ns = min((s.start_ns for s in self.trace.spans if s.parent_id == turn.span_id and s.start_ns),
                            default=now)
        return turn

    def on_call(self, turn: Span, reply: Message, call: dict[str, Any], now: int | None) -> None:
        tool = self.tool_call(turn, reply, ToolCall(name=as_text(call.get("name") or ""), arguments=as_text(
            call.get("args")), id=as_text(call.get("id") or "")), to_ns(call.get("timestamp")) or now)
        text = _result(call.get("result"))
        self.tool_result(tool.tool_call_id, text, to_ns(call.get("timestamp")) or now)
        status = as_text(call.get("status") or "")
        if status in FAILED or call.get("error"):
            tool.status = "error"
            tool.status_message = (as_text(call.get("error")) or text or f"call {status}").strip().splitlines()[0][:300]
        rest = {k: v for k, v in call.items() if k not in CALL_READ}
        if rest or status:
            tool.attributes.update({"status": status, **rest} if status else rest)
        if call.get("error"):
            tool.attributes["error"] = call["error"]


def _read(docs: Documents, source: str) -> list[Trace]:
    items = iter(docs.iterate())
    header: Any = next(items, {})
    session = _Session(header if isinstance(header, dict) else {}, source)
    messages = header.get("messages") if isinstance(header, dict) else None
    for n, msg in enumerate(messages if isinstance(messages, list) else items):
        session.add(n, msg)
    session.keep_unanswered()
    session.total_tokens()
    return [session.trace]


READER = Reader(name="gemini-cli", priority=22, detect=_detect, read=_read,
                expects="Gemini CLI session (`sessionId`, `projectHash`, `messages[]` of `type` user/gemini with "
                        "`toolCalls`; or that header line, then one message a line)")
