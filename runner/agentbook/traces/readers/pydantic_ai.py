"""Pydantic AI message histories, as `result.all_messages_json()` (or `ModelMessagesTypeAdapter`)
writes them: a JSON array of messages, `kind` `request` or `response`, each with typed `parts`.

A request's parts (`part_kind`): `system-prompt`, `user-prompt`, `tool-return` (a tool's result, by
`tool_call_id`; from 2.0 an `outcome`, `failed` or `retried` when it went back as an error),
`retry-prompt` (validation or tool error sent back to the model). A response's:
`text`, `thinking`, `tool-call` (`tool_name`, `args` as JSON text or an object, `tool_call_id`),
plus `usage`, `model_name`, `timestamp`, `provider_name`, `finish_reason`. Several histories may follow
each other (a JSON Lines file, or an array of arrays): one trace each.

The run becomes an agent span; each response an llm span whose input is the request parts since the
previous response; each tool call a tool span under it whose result is the matching `tool-return`,
failed by a matching `retry-prompt` or an error outcome. Part and message fields not read here stay attributes.
"""

from __future__ import annotations

from typing import Any

from ..load import Documents
from ..model import Message, Span, ToolCall, Trace
from ..values import as_dict, as_int, as_list, as_text, to_ns
from . import Reader
from .common import SessionLog, keep_skipped

KINDS = {"request", "response"}
REQUEST_ROLES = {"system-prompt": "system", "user-prompt": "user", "tool-return": "tool", "retry-prompt": "tool"}
# A tool-return's outcome (Pydantic AI 2) that went back to the model as an error: the tool raised
# (`failed`), or asked the model to call it again (`retried`, ModelRetry; a retry-prompt before 2.0).
ERROR_OUTCOMES = {"failed", "retried"}
PART_READ = {"part_kind", "content", "timestamp", "tool_name", "tool_call_id", "args"}
MESSAGE_READ = {"kind", "parts", "usage", "model_name", "timestamp"}


def _is_message(m: Any) -> bool:
    return isinstance(m, dict) and isinstance(m.get("kind"), str) and m["kind"] in KINDS and isinstance(
        m.get("parts"), list)


def _is_history(doc: Any) -> bool:
    head = [m for m in doc[:5] if isinstance(m, dict)] if isinstance(doc, list) else []
    return bool(head) and all(_is_message(m) for m in head)


def _histories(doc: Any) -> list[Any]:
    """The histories of one document: itself, or each of an array of histories."""
    if isinstance(doc, list) and doc and all(isinstance(h, list) for h in doc):
        return doc
    return [doc]


def _detect(docs: list[Any]) -> bool:
    return any(_is_history(h) for doc in docs for h in _histories(doc)[:3])


class _Run(SessionLog):
    def __init__(self, n: int, source: str) -> None:
        trace_id = f"pydantic-ai-run-{n:03d}"
        super().__init__(Trace(trace_id=trace_id, format="pydantic-ai", source=source, name="pydantic ai run"),
                         Span(span_id="run", trace_id=trace_id, kind="agent", name="pydantic ai run", status="ok"))

    def add(self, n: int, message: Any) -> None:
        if not _is_message(message):
            self.trace.keep_unread(self.root, "message", message if isinstance(message, dict) else {"value": message})
            return
        now = to_ns(message.get("timestamp"))
        for part in as_list(message.get("parts")):
            now = now or to_ns(as_dict(part).get("timestamp"))
        self.widen(now)
        if message["kind"] == "request":
            self.on_request(message, now)
        else:
            self.on_response(n, message, now)

    def on_request(self, message: dict[str, Any], now: int | None) -> None:
        if message.get("instructions"):
            self.pending.append(Message(role="system", content=as_text(message["instructions"]), time_ns=now))
        for part in as_list(message.get("parts")):
            part = part if isinstance(part, dict) else {"part_kind": "unknown", "content": part}
            kind = str(part.get("part_kind") or "")
            call_id = str(part.get("tool_call_id") or "")
            text = as_text(part.get("content"))
            self.pending.append(Message(role=REQUEST_ROLES.get(kind, "user"), content=text, tool_call_id=call_id,
                                        name=str(part.get("tool_name") or ""), time_ns=to_ns(part.get("timestamp"))))
            tool = self.tools.get(call_id) if kind in ("tool-return", "retry-prompt") else None
            if tool is not None:
                tool.tool_result, tool.end_ns = text, to_ns(part.get("timestamp")) or tool.end_ns
                if kind == "retry-prompt" or part.get("outcome") in ERROR_OUTCOMES:
                    tool.status, tool.status_message = "error", text.strip().splitlines()[0][:300] if text.strip() \
                        else "the model was asked to retry"
            self.keep(part, f"{kind} part")
        self.keep({k: v for k, v in message.items() if k != "instructions"}, "request")

    def on_response(self, n: int, message: dict[str, Any], now: int | None) -> None:
        usage = as_dict(message.get("usage"))
        asked = max((m.time_ns for m in self.pending if m.time_ns is not None), default=None)  # the model's wait
        span = self.child(self.root, f"response-{n:05d}", kind="llm", status="ok", start_ns=asked or now, end_ns=now,
                          model=str(message.get("model_name") or ""),
                          name=f"{message.get('model_name') or 'model'} response",
                          input_tokens=as_int(usage.get("input_tokens", usage.get("request_tokens"))),
                          output_tokens=as_int(usage.get("output_tokens", usage.get("response_tokens"))))
        span.input_messages, self.pending = self.pending, []
        if usage:
            span.attributes["usage"] = usage  # cache and detail counts beside the two read above
        reply = Message(role="assistant", time_ns=now, finish_reason=str(message.get("finish_reason") or ""))
        span.output_messages.append(reply)
        for part in as_list(message.get("parts")):
            part = part if isinstance(part, dict) else {"part_kind": "unknown", "content": part}
            kind = str(part.get("part_kind") or "")
            if kind == "tool-call":
                self.on_call(span, reply, part, now)
            elif kind == "thinking":
                reply.reasoning += as_text(part.get("content"))
            else:
                reply.content = "\n".join(x for x in (reply.content, as_text(part.get("content"))) if x)
            self.keep(part, f"{kind} part", span)
        self.root.model = self.root.model or span.model
        self.keep({k: v for k, v in message.items() if k != "finish_reason"}, "response", span)

    def on_call(self, span: Span, reply: Message, part: dict[str, Any], now: int | None) -> None:
        self.tool_call(span, reply, ToolCall(name=str(part.get("tool_name") or ""), arguments=as_text(part.get("args")),
                                             id=str(part.get("tool_call_id") or "")), now)

    def keep(self, record: dict[str, Any], what: str, span: Span | None = None) -> None:
        """A part's or message's fields no rule reads, on its span (the run's for request parts)."""
        read = MESSAGE_READ if what in ("request", "response") else PART_READ
        rest = {k: v for k, v in record.items() if k not in read and v not in (None, "", [], {})}
        if rest:
            (span or self.root).events.append({"name": what, "time_ns": to_ns(record.get("timestamp")),
                                               "attributes": rest})


def _read(docs: Documents, source: str) -> list[Trace]:
    traces: list[Trace] = []
    skipped: list[Any] = []
    for doc in docs.iterate():
        for history in _histories(doc):
            if not isinstance(history, list):
                skipped.append(history)
                continue
            run = _Run(len(traces), source)
            for n, message in enumerate(history):
                run.add(n, message)
            run.total_tokens()
            run.keep_unanswered("input after the last response")  # a request no response answered
            traces.append(run.trace)
    return keep_skipped(traces, skipped)


READER = Reader(name="pydantic-ai", priority=55, detect=_detect, read=_read,
                expects="Pydantic AI message history (a JSON array of `kind: request|response` messages with "
                        "`parts`, as `all_messages_json()` writes it)")
