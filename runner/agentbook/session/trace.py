"""An OTLP/JSON trace of the session with the OTel GenAI conventions, for the trace exporter and viewers.

One `invoke_agent agentbook` root span; under it a `chat <model>` span per model request (each retry
its own span, failed ones with ERROR status) and an `execute_tool <name>` span per tool call. Content
goes on `gen_ai.input.messages` / `gen_ai.output.messages` as JSON with typed parts. The file is one
TracesData object on one line, so it reads as JSON and as the OTLP file exporter's JSON Lines.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook import __version__
from agentbook.fsutil import atomic_write_text
from agentbook.session.redact import Redactor

KIND_INTERNAL, KIND_CLIENT = 1, 3
STATUS_ERROR = 2
_IDS = random.Random(os.urandom(16))  # span ids need to be unique, not secret: no syscall per id


def _new_id(bits: int) -> str:
    return f"{_IDS.getrandbits(bits):0{bits // 4}x}"
PART_MAX_CHARS = 8000  # per text part; the transcript keeps everything
PLACEHOLDER = "\ue000"  # private use: JSON keeps it as is and no key shape or escape touches it


@dataclass
class Span:
    name: str
    kind: int
    start_ns: int
    parent: str | None
    span_id: str = field(default_factory=lambda: _new_id(64))
    end_ns: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    content: dict[str, Any] | None = None  # a chat span's raw request/response, rendered on write


class TraceRecorder:
    def __init__(self, path: Path | str | None, session_id: str, redactor: Redactor) -> None:
        self.path = Path(path) if path is not None else None
        self.redactor = redactor
        self.trace_id = _new_id(128)
        self.root = Span("invoke_agent agentbook", KIND_INTERNAL, time.time_ns(), None, attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "agentbook",
            "gen_ai.conversation.id": session_id})
        self.spans: list[Span] = [self.root]

    def chat(self, *, start_ns: int, model: str, request: dict[str, Any], response: dict[str, Any] | None,
             usage: dict[str, int] | None, cost_usd: float | None, error: str | None = None) -> None:
        """Record a model request. Messages are kept by reference and turned into GenAI JSON only when
        the file is written, so a long session does not pay for its history on every turn."""
        if self.path is None:
            return
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": model, "gen_ai.request.max_tokens": request.get("max_tokens", 0)}
        if response is not None:
            attrs.update({
                "gen_ai.response.id": response.get("id", ""), "gen_ai.response.model": response.get("model", model),
                "gen_ai.response.finish_reasons": [response.get("stop_reason") or ""]})
        if usage is not None:
            attrs.update({
                "gen_ai.usage.input_tokens": usage["input_tokens"] + usage["cache_read_input_tokens"]
                + usage["cache_creation_input_tokens"],
                "gen_ai.usage.output_tokens": usage["output_tokens"],
                "gen_ai.usage.cache_read.input_tokens": usage["cache_read_input_tokens"],
                "gen_ai.usage.cache_creation.input_tokens": usage["cache_creation_input_tokens"]})
        if cost_usd is not None:
            attrs["agentbook.cost_usd"] = cost_usd
        if error:
            attrs["error.type"] = error.split(":", 1)[0]
        self._add(Span(f"chat {model}", KIND_CLIENT, start_ns, self.root.span_id, end_ns=time.time_ns(),
                       attributes=attrs, error=error, content={"request": request, "response": response}))

    def tool(self, *, start_ns: int, call_id: str, name: str, args: Any, result: str, is_error: bool) -> None:
        if self.path is None:
            return
        attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.tool.call.id": call_id,
                 "gen_ai.tool.type": "function", "gen_ai.tool.call.arguments": _dumps(args),
                 "gen_ai.tool.call.result": _cut(result)}
        self._add(Span(f"execute_tool {name}", KIND_INTERNAL, start_ns, self.root.span_id,
                       end_ns=time.time_ns(), attributes=attrs, error=_cut(result, 500) if is_error else None))

    def finish(self, attributes: dict[str, Any], error: str | None) -> None:
        """Close the root span; `write()` then puts the file on disk."""
        self.root.end_ns = time.time_ns()
        self.root.attributes.update(attributes)
        self.root.error = error

    def write(self) -> None:
        if self.path is None:
            return
        atomic_write_text(self.path, self.render() + "\n")

    def render(self) -> str:
        """The TracesData JSON, redacted. Each chat span repeats the whole history on
        `gen_ai.input.messages`, so the file grows with turns squared; that repeated part is built
        once per message instead: rendered, redacted and escaped as a JSON string fragment a single
        time, and spliced into the small redacted skeleton by a placeholder (with a nonce no content
        can know); so is the system prompt each chat span repeats. Key shapes and listed secrets never
        span two messages, so redacting each one on its own finds what a pass over the whole text would."""
        fragments: dict[int, str] = {}  # id(message) -> its GenAI JSON, redacted, escaped for a JSON string;
        # id(system) -> its placeholder
        spliced: list[str] = []  # the repeated attribute texts, redacted and escaped, by placeholder number
        nonce = _new_id(64)
        data = {"resourceSpans": [{
            "resource": {"attributes": _attrs({"service.name": "agentbook", "service.version": __version__})},
            "scopeSpans": [{"scope": {"name": "agentbook.session", "version": __version__},
                            "spans": [self._otlp(s, fragments, spliced, nonce) for s in self.spans]}]}]}
        if not spliced:
            return self.redactor.dumps(data)
        placeholder = re.compile(f"{PLACEHOLDER}{nonce}:([0-9]+){PLACEHOLDER}")
        skeleton = _dumps(data)
        uses = len(placeholder.findall(skeleton))
        text, found = placeholder.subn(lambda m: spliced[int(m.group(1))], self.redactor.json_text(skeleton))
        if found != uses:  # a listed secret matched inside a placeholder: redact the whole text instead
            text = self.redactor.json_text(placeholder.sub(lambda m: spliced[int(m.group(1))], skeleton))
        return text

    def _add(self, span: Span) -> None:
        self.spans.append(span)

    def _otlp(self, span: Span, fragments: dict[int, str], spliced: list[str], nonce: str) -> dict[str, Any]:
        content = self._content_attributes(span.content, fragments, spliced, nonce)
        out: dict[str, Any] = {"traceId": self.trace_id, "spanId": span.span_id, "name": span.name,
                               "kind": span.kind, "startTimeUnixNano": str(span.start_ns),
                               "endTimeUnixNano": str(span.end_ns or time.time_ns()),
                               "attributes": _attrs({**span.attributes, **content}),
                               "status": {}}
        if span.parent:
            out["parentSpanId"] = span.parent
        if span.error:
            out["status"] = {"code": STATUS_ERROR, "message": span.error}
        return out


    def _content_attributes(self, content: dict[str, Any] | None, fragments: dict[int, str], spliced: list[str],
                            nonce: str) -> dict[str, Any]:
        if content is None:
            return {}
        request, response = content["request"], content["response"]
        parts = []
        for message in request.get("messages", []):
            if id(message) not in fragments:
                text = self.redactor.dumps(to_genai_messages([message])[0])
                fragments[id(message)] = json.dumps(text, ensure_ascii=False)[1:-1]
            parts.append(fragments[id(message)])
        spliced.append("[" + ", ".join(parts) + "]")
        out = {"gen_ai.input.messages": f"{PLACEHOLDER}{nonce}:{len(spliced) - 1}{PLACEHOLDER}"}
        system = request.get("system")
        if system:  # the same on every turn: rendered and spliced once, like a message
            if id(system) not in fragments:
                text = self.redactor.dumps(_system_parts(system))
                spliced.append(json.dumps(text, ensure_ascii=False)[1:-1])
                fragments[id(system)] = f"{PLACEHOLDER}{nonce}:{len(spliced) - 1}{PLACEHOLDER}"
            out["gen_ai.system_instructions"] = fragments[id(system)]
        if response is not None:
            out["gen_ai.output.messages"] = _dumps([{"role": "assistant", "parts": _parts(response["content"]),
                                                     "finish_reason": response.get("stop_reason") or ""}])
        return out


def to_genai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic messages as GenAI messages: tool results become `tool` messages of tool_call_response parts."""
    out = []
    for msg in messages:
        parts = _parts(msg.get("content", ""))
        role = msg.get("role", "user")
        if role == "user" and parts and all(p["type"] == "tool_call_response" for p in parts):
            role = "tool"
        out.append({"role": role, "parts": parts})
    return out


def _parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": _cut(content)}]
    parts: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": _cut(block.get("text", ""))})
        elif kind == "tool_use":
            parts.append({"type": "tool_call", "id": block.get("id"), "name": block.get("name"),
                          "arguments": block.get("input")})
        elif kind == "tool_result":
            parts.append({"type": "tool_call_response", "id": block.get("tool_use_id"),
                          "response": _cut(_result_text(block.get("content")))})
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": _cut(block.get("thinking", ""))})
        elif kind == "redacted_thinking":
            parts.append({"type": "reasoning", "content": "[redacted thinking]"})
        else:
            parts.append({"type": str(kind)})
    return parts


def _result_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content or "")


def _system_parts(system: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    text = system if isinstance(system, str) else "".join(b.get("text", "") for b in system)
    return [{"type": "text", "content": _cut(text)}]


def _cut(text: str, limit: int = PART_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"[truncated: {len(text) - limit} chars, see the transcript]"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _attrs(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in attributes.items() if v is not None]


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list | tuple):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    return {"stringValue": str(v)}
