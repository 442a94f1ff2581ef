"""Claude Managed Agents sessions: the session's events, as the API lists or streams them (one event per
line, or `{"data": [...]}`), or as a client recorded its calls (`["client.beta.sessions.create",
session]`, `["client.beta.sessions.events.stream", event]`, `["...events.send", [id, {"events": [...]}]]`,
as the LangSmith SDK's test recordings are).

Events (`type`, `id`, `processed_at`): `user.message`, `agent.message`, `agent.thinking`,
`agent.tool_use` / `agent.custom_tool_use` / `agent.mcp_tool_use` and their results
(`agent.tool_result`, `user.custom_tool_result`, `agent.mcp_tool_result`, by the use's event id),
`user.tool_confirmation`, `span.model_request_start` / `span.model_request_end` (usage, `is_error`),
and `session.*` status events (stop reasons).

The session becomes an agent span (the session object, when present, gives its agent, model and system
prompt); each model request an llm span whose input is what arrived since the previous one; each tool
use a tool span under it. Status events, sent batches and anything unknown are kept verbatim.
"""

from __future__ import annotations

from typing import Any

from ..load import Documents
from ..model import Message, Span, ToolCall, Trace
from ..values import as_dict, as_int, as_text, to_ns
from . import Reader
from .common import SessionLog

USES = {"agent.tool_use", "agent.custom_tool_use", "agent.mcp_tool_use"}
RESULTS = {"agent.tool_result": "tool_use_id", "user.custom_tool_result": "custom_tool_use_id",
           "agent.mcp_tool_result": "mcp_tool_use_id"}
PREFIXES = ("user.", "agent.", "session.", "span.")
READ = {"type", "id", "processed_at", "content"}


def _is_event(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("type"), str) and doc["type"].startswith(PREFIXES) and (
        str(doc.get("id") or "").startswith("sevt_") or "processed_at" in doc)


def _is_call(doc: Any) -> bool:
    return isinstance(doc, list) and len(doc) == 2 and isinstance(doc[0], str) and doc[0].startswith(
        "client.beta.sessions")


def _records(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return doc["data"]
    return [doc]


def _detect(docs: list[Any]) -> bool:
    items = [r for doc in docs for r in _records(doc)[:5]]
    return bool(items) and all(_is_event(r) or _is_call(r) for r in items) and any(
        _is_event(r) or (_is_call(r) and "events" in r[0]) for r in items)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(as_text(b.get("text")) if isinstance(b, dict) and b.get("type") == "text" else as_text(b)
                         for b in content)
    return as_text(content)


class _Session(SessionLog):
    def __init__(self, source: str) -> None:
        super().__init__(Trace(trace_id="session", format="claude-sessions", source=source, name="managed agent session"),
                         Span(span_id="session", trace_id="session", kind="agent", name="managed agent session",
                              status="ok"))
        self.turn: Span | None = None  # the open model request
        self.requests: dict[str, Span] = {}

    def add(self, rec: Any) -> None:
        if _is_call(rec):
            self.on_call(rec[0], rec[1])
        elif _is_event(rec):
            self.on_event(rec)
        else:
            self.trace.keep_unread(self.root, "record", rec if isinstance(rec, dict) else {"value": rec})

    def on_call(self, method: str, payload: Any) -> None:
        calls = self.root.attributes.setdefault("recorded_calls", {})  # which client calls the file holds
        calls[method] = calls.get(method, 0) + 1
        if method.endswith((".events.stream", ".events.list")) and _is_event(payload):
            self.on_event(payload)
        elif method.endswith((".sessions.create", ".sessions.retrieve")) and isinstance(payload, dict):
            self.on_session(payload)
        else:  # what the client sent (the stream echoes it as events) and other calls: verbatim
            self.trace.keep_unread(self.root, method, {"payload": payload})

    def on_session(self, session: dict[str, Any]) -> None:
        agent = as_dict(session.get("agent"))
        self.trace.trace_id = self.root.trace_id = str(session.get("id") or self.trace.trace_id)
        self.root.name = f"session {agent.get('name') or session.get('title') or ''}".strip()
        self.trace.name = str(session.get("title") or self.root.name)
        self.root.model = str(as_dict(agent.get("model")).get("id") or agent.get("model") or "")
        if agent.get("system"):
            self.root.input_messages.append(Message(role="system", content=as_text(agent["system"])))
        self.root.attributes["session"] = session

    def on_event(self, event: dict[str, Any]) -> None:
        kind, now = event["type"], to_ns(event.get("processed_at"))
        self.widen(now)
        if kind == "span.model_request_start":
            self.turn = self.child(self.root, f"request-{len(self.requests):04d}", kind="llm", status="ok",
                                   name=f"{self.root.model or 'model'} request", model=self.root.model,
                                   start_ns=now, end_ns=now)
            self.turn.input_messages, self.pending = self.pending, []
            self.turn.output_messages.append(Message(role="assistant", time_ns=now))
            self.requests[str(event.get("id") or "")] = self.turn
        elif kind == "span.model_request_end":
            self.on_request_end(event, now)
        elif kind == "user.message":
            self.pending.append(Message(role="user", content=_text(event.get("content")), time_ns=now))
        elif kind in ("agent.message", "agent.thinking"):
            self.on_output(event, now)
        elif kind in USES:
            self.on_use(event, now)
        elif kind in RESULTS:
            self.on_result(event, now, str(event.get(RESULTS[kind]) or ""))
        else:  # session status, tool confirmations and anything new: verbatim, on the tool when it names one
            target = self.tools.get(str(event.get("tool_use_id") or ""), self.root)
            target.events.append({"name": kind, "time_ns": now, "attributes": event})
            if kind == "user.tool_confirmation" and event.get("result") == "deny" and target is not self.root:
                target.status, target.status_message = "error", "the user denied this tool call"
            return
        self.keep(event, kind)

    def on_request_end(self, event: dict[str, Any], now: int | None) -> None:
        span = self.requests.get(str(event.get("model_request_start_id") or "")) or self.turn
        if span is None:
            self.trace.keep_unread(self.root, event["type"], event, now)
            return
        usage = as_dict(event.get("model_usage"))
        span.end_ns = now or span.end_ns
        span.input_tokens = sum(as_int(usage.get(k)) or 0 for k in (
            "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")) if usage else None
        span.output_tokens = as_int(usage.get("output_tokens"))
        if event.get("is_error"):
            span.status, span.status_message = "error", "model request failed"
        self.keep(event, event["type"], span)
        if span is self.turn:
            self.turn = None

    def on_output(self, event: dict[str, Any], now: int | None) -> None:
        reply = self.turn.output_messages[-1] if self.turn else Message(role="assistant", time_ns=now)
        if self.turn is None:
            self.pending.append(reply)  # output outside any model request: kept in order
        text = _text(event.get("content"))
        if event["type"] == "agent.thinking":
            reply.reasoning = "\n".join(x for x in (reply.reasoning, text) if x)
        else:
            reply.content = "\n".join(x for x in (reply.content, text) if x)

    def on_use(self, event: dict[str, Any], now: int | None) -> None:
        call = ToolCall(name=str(event.get("name") or ""), arguments=as_text(event.get("input")),
                        id=str(event.get("id") or ""))
        self.tool_call(self.turn or self.root, self.turn.output_messages[-1] if self.turn else None, call, now)

    def on_result(self, event: dict[str, Any], now: int | None, use_id: str) -> None:
        text = _text(event.get("content"))
        tool = self.tool_result(use_id, text, now)
        if tool is not None and event.get("is_error"):
            tool.status, tool.status_message = "error", text.strip().splitlines()[0][:300] if text.strip() \
                else "tool returned an error"

    def keep(self, event: dict[str, Any], kind: str, span: Span | None = None) -> None:
        """The event's fields no rule above reads, on its span (ids, permissions, server names, ...)."""
        target = span or self.tools.get(str(event.get("id") or "")) or self.turn or self.root
        target.events.append({"name": kind, "time_ns": to_ns(event.get("processed_at")),
                              "attributes": {k: v for k, v in event.items() if k not in READ or k == "id"}})


def _read(docs: Documents, source: str) -> list[Trace]:
    session = _Session(source)
    for doc in docs.iterate():
        for rec in _records(doc):
            session.add(rec)
    session.keep_unanswered("input after the last model request")
    for span in session.trace.spans:
        span.trace_id = session.trace.trace_id
    session.total_tokens()
    return [session.trace]


READER = Reader(name="claude-sessions", priority=28, detect=_detect, read=_read,
                expects="Claude Managed Agents session events (`type` user.*/agent.*/span.*/session.*, `sevt_` ids), "
                        "or a client's recorded `[\"client.beta.sessions...\", payload]` calls")
