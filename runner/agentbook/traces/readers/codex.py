"""Codex CLI sessions (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`).

Each line is `{"timestamp", "type", "payload"}`: `session_meta` (id, cwd, cli version, instructions),
`turn_context` (model, policies), `response_item` (the conversation: `message` by role, `reasoning`,
`function_call` / `custom_tool_call` / `local_shell_call` and their `*_output` by `call_id`), and
`event_msg` (UI events: `token_count`, `user_message`, `agent_message`, `error`, ...). Earlier releases
wrote the session's `{id, timestamp, instructions}` as the first line and the response items bare, one a
line, with `{"record_type": "state"}` lines between: read the same way.

The session becomes an agent span; each run of model output (reasoning, assistant text, tool calls)
between inputs becomes an llm span whose input is what came since the previous one; each tool call a
tool span under it, failed when its output says a non-zero exit code. Token counts come from the
`token_count` events. Records of unknown types are kept verbatim on the root span and counted.
"""

from __future__ import annotations

from typing import Any

from ..load import Documents
from ..model import Message, Span, ToolCall, Trace
from ..values import as_dict, as_int, as_list, as_text, maybe_json, to_ns
from . import Reader
from .common import SessionLog

RECORD_TYPES = {"session_meta", "turn_context", "response_item", "event_msg", "compacted"}
CALLS = {"function_call", "custom_tool_call", "local_shell_call", "web_search_call", "tool_search_call"}
OUTPUTS = {"function_call_output", "custom_tool_call_output", "local_shell_call_output", "tool_search_output"}
ECHOES = {"user_message", "agent_message", "agent_reasoning"}  # UI copies of response items
ITEMS = {"message", "reasoning"} | CALLS | OUTPUTS  # response items, as the earlier bare lines have them


def _detect(docs: list[Any]) -> bool:
    return all(isinstance(d, dict) for d in docs) and (any(
        _kind(d.get("type")) in RECORD_TYPES and isinstance(d.get("payload"), dict) for d in docs) and any(
        _kind(d.get("type")) in ("session_meta", "response_item", "turn_context") for d in docs) or _bare(docs))


def _bare(docs: list[Any]) -> bool:
    """The earlier rollout: a `{id, timestamp}` session line, then bare response items."""
    head = docs[0] if docs and isinstance(docs[0], dict) else {}
    return "id" in head and "timestamp" in head and "type" not in head and "payload" not in head and any(
        isinstance(d, dict) and _kind(d.get("type")) in ITEMS and "payload" not in d for d in docs[1:])


def _enveloped(n: int, rec: dict[str, Any]) -> dict[str, Any]:
    """A line of the earlier rollout as the current one writes it."""
    if n == 0:
        return {"timestamp": rec.get("timestamp"), "type": "session_meta", "payload": rec}
    if _kind(rec.get("type")) in ITEMS and "payload" not in rec:
        return {"type": "response_item", "payload": rec}
    return {"type": f"record {rec.get('record_type')}" if "record_type" in rec else rec.get("type"), "payload": rec}


class _Session(SessionLog):
    def __init__(self, source: str) -> None:
        super().__init__(Trace(trace_id="codex-session", format="codex", source=source, name="codex session"),
                         Span(span_id="session", trace_id="codex-session", kind="agent", name="codex session", status="ok"))
        self.turn: Span | None = None  # the llm span collecting the current run of model output
        self.model = ""

    def add(self, n: int, rec: dict[str, Any]) -> None:
        now = to_ns(rec.get("timestamp"))
        self.widen(now)
        kind, payload = _kind(rec.get("type")), rec.get("payload")
        if not isinstance(payload, dict):
            self.trace.keep_unread(self.root, str(kind or "record"), rec, now)
        elif kind == "session_meta":
            self.on_meta(payload)
        elif kind == "turn_context":  # model and policies, which may change from turn to turn
            self.model = str(payload.get("model") or self.model)
            self.root.model = self.root.model or self.model
            self.root.events.append({"name": "turn_context", "time_ns": now, "attributes": payload})
        elif kind == "response_item":
            self.on_item(n, payload, now, rec)
        elif kind == "event_msg":
            self.on_event(payload, now, rec)
        else:
            self.trace.keep_unread(self.root, str(kind or "record"), rec, now)

    def on_meta(self, payload: dict[str, Any]) -> None:
        session = str(payload.get("id") or "codex-session")
        self.trace.trace_id = session
        for span in self.trace.spans:
            span.trace_id = session
        self.trace.name = f"codex session {session}"
        instructions = payload.get("instructions") or payload.get("base_instructions")
        if instructions:
            self.pending.append(Message(role="system", content=_text(instructions)))
        self.root.attributes["session_meta"] = {k: v for k, v in payload.items()
                                                if k not in ("id", "instructions", "base_instructions")}

    def on_item(self, n: int, item: dict[str, Any], now: int | None, rec: dict[str, Any]) -> None:
        kind = _kind(item.get("type"))
        if kind == "message" and item.get("role") != "assistant":
            self.pending.append(Message(role=str(item.get("role") or "user"), content=_text(item.get("content")),
                                        time_ns=now))
            self.turn = None
        elif kind in OUTPUTS:
            self.on_output(item, now)
            self.turn = None
        elif kind == "message" or kind == "reasoning" or kind in CALLS:
            turn = self.current_turn(n, now)
            reply = turn.output_messages[-1]
            if kind == "message":
                reply.content = "\n".join(x for x in (reply.content, _text(item.get("content"))) if x)
            elif kind == "reasoning":
                reply.reasoning += "\n".join(as_text(as_dict(s).get("text") or s) for s in as_list(item.get("summary")))
                reply.reasoning += _text(item.get("content")) if item.get("content") else ""
                if item.get("encrypted_content"):
                    turn.attributes.setdefault("reasoning.encrypted_content", []).append(item["encrypted_content"])
            else:
                self.on_call(turn, reply, item, now)
        else:
            self.trace.keep_unread(self.root, f"response_item {kind}", rec, now)

    def current_turn(self, n: int, now: int | None) -> Span:
        if self.turn is None:
            self.turn = self.child(self.root, f"turn-{n:05d}", kind="llm", name=f"{self.model or 'model'} turn",
                                   start_ns=now, end_ns=now, status="ok", model=self.model)
            self.turn.input_messages, self.pending = self.pending, []
            self.turn.output_messages.append(Message(role="assistant", time_ns=now))
        self.turn.end_ns = now or self.turn.end_ns
        return self.turn

    def on_call(self, turn: Span, reply: Message, item: dict[str, Any], now: int | None) -> None:
        kind = str(item.get("type"))
        args = item.get("arguments", item.get("input", item.get("action")))
        name = str(item.get("name") or kind.removesuffix("_call"))
        call = ToolCall(name=name, arguments=as_text(args), id=str(item.get("call_id") or item.get("id") or ""))
        tool = self.tool_call(turn, reply, call, now)
        tool.attributes["call.type"] = kind
        rest = {k: v for k, v in item.items() if k not in ("type", "name", "arguments", "input", "action", "call_id")}
        if rest:
            tool.attributes.update(rest)
        if item.get("status") in ("failed", "incomplete"):
            tool.status, tool.status_message = "error", f"call {item['status']}"

    def on_output(self, item: dict[str, Any], now: int | None) -> None:
        call_id = str(item.get("call_id") or "")
        output = item.get("output")
        parsed = maybe_json(output)
        text = _text(parsed.get("output")) if isinstance(parsed, dict) and "output" in parsed else _text(output)
        tool = self.tool_result(call_id, text, now)
        if tool is None:
            return
        tool.attributes["output.type"] = item.get("type")
        meta = as_dict(parsed.get("metadata")) if isinstance(parsed, dict) else {}
        if meta:
            tool.attributes["output.metadata"] = meta
        code = as_int(meta.get("exit_code"))
        if code not in (None, 0) or (isinstance(parsed, dict) and parsed.get("success") is False):
            tool.status = "error"
            tool.status_message = f"exit code {code}: {_first_line(text)}" if code is not None else _first_line(text)

    def on_event(self, payload: dict[str, Any], now: int | None, rec: dict[str, Any]) -> None:
        kind = _kind(payload.get("type"))
        if kind == "token_count":
            info = as_dict(payload.get("info"))
            last, total = as_dict(info.get("last_token_usage")), as_dict(info.get("total_token_usage"))
            target = self.turn or next((s for s in reversed(self.trace.spans) if s.kind == "llm"), None)
            if last and target is not None:
                target.input_tokens = as_int(last.get("input_tokens"))
                target.output_tokens = as_int(last.get("output_tokens"))
                target.attributes["usage"] = last
            if total:
                self.root.input_tokens = as_int(total.get("input_tokens"))
                self.root.output_tokens = as_int(total.get("output_tokens"))
            if payload.get("rate_limits"):
                self.root.attributes["rate_limits"] = payload["rate_limits"]
        elif kind in ECHOES:
            self.root.events.append({"name": str(kind), "time_ns": now, "attributes": payload})
        elif kind in ("error", "stream_error", "turn_aborted"):
            message = as_text(payload.get("message") or payload.get("reason") or kind)
            self.root.events.append({"name": str(kind), "time_ns": now, "attributes": payload})
            self.root.warnings.append(f"{kind}: {message}")
        else:
            self.root.events.append({"name": str(kind), "time_ns": now, "attributes": payload})


def _kind(value: Any) -> str:
    """A record's `type`, or "" when it is not a string (a damaged line must not stop the reader)."""
    return value if isinstance(value, str) else ""


def _text(content: Any) -> str:
    """Codex content: a string, or a list of `input_text` / `output_text` parts."""
    if isinstance(content, list):
        return "\n".join(as_text(p.get("text")) if isinstance(p, dict) and "text" in p else as_text(p)
                         for p in content)
    return as_text(content)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def _read(docs: Documents, source: str) -> list[Trace]:
    session = _Session(source)
    bare = _bare(docs.head)
    for n, rec in enumerate(docs.iterate()):
        if not isinstance(rec, dict):
            rec = {"type": "not-an-object", "payload": rec}
        session.add(n, _enveloped(n, rec) if bare else rec)
    if session.pending:
        span = session.child(session.root, "unanswered", kind="chain", name="input after the last model turn",
                             status="ok", start_ns=session.root.end_ns, end_ns=session.root.end_ns)
        span.input_messages = session.pending
    return [session.trace]


READER = Reader(name="codex", priority=20, detect=_detect, read=_read,
                expects="Codex CLI session (JSON Lines of `{timestamp, type, payload}`: session_meta, response_item; "
                        "or an `{id, timestamp}` line, then bare response items)")
