"""An OTLP/JSON trace of the session with the OTel GenAI conventions, for the trace exporter and viewers.

One `invoke_agent agentbook` root span; under it a `chat <model>` span per model request (each retry
its own span, failed ones with ERROR status) and an `execute_tool <name>` span per tool call. Content
goes on `gen_ai.input.messages` / `gen_ai.output.messages` as JSON with typed parts. The file is one
TracesData object on one line, so it reads as JSON and as the OTLP file exporter's JSON Lines.
"""

from __future__ import annotations

import asyncio
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
# Each chat span repeats the whole conversation, so a trace grows with turns squared. Past this many
# bytes (`AGENTBOOK_TRACE_HISTORY_BYTES`), a chat span carries only the messages no earlier span
# carried, and says how many it left out (`agentbook.input.messages_omitted`): the trace then grows
# linearly, and a long or hostile session cannot fill the disk with copies of its own history.
HISTORY_MAX_BYTES = 32 << 20


def history_max_bytes() -> int:
    raw = os.environ.get("AGENTBOOK_TRACE_HISTORY_BYTES", "")
    return int(raw) if raw.isdigit() else HISTORY_MAX_BYTES
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
    content: dict[str, Any] | None = None  # a chat span's raw request/response, rendered when it closes


class TraceRecorder:
    """Spans are rendered as they close, each once, so writing the file at the end of a session only
    joins them: a session's last moments (and the other sessions on the same event loop) do not wait
    for its whole history to be serialised."""

    def __init__(self, path: Path | str | None, session_id: str, redactor: Redactor) -> None:
        self.path = Path(path) if path is not None else None
        self.redactor = redactor
        self.trace_id = _new_id(128)
        self.root = Span("invoke_agent agentbook", KIND_INTERNAL, time.time_ns(), None, attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "agentbook",
            "gen_ai.conversation.id": session_id})
        self._closed: list[str] = []  # the root's children, rendered (redacted JSON objects), in order
        # id(message or system prompt) -> (the object, kept so its id stays its own; its GenAI JSON,
        # redacted and escaped to sit inside a JSON string)
        self._fragments: dict[int, tuple[Any, str]] = {}
        self._nonce = _new_id(64)
        self._size = 0  # bytes of the closed spans, rendered
        self._sent = 0  # messages the last chat span's request held
        self._history_max = history_max_bytes()
        self._placeholder = re.compile(f"{PLACEHOLDER}{self._nonce}:([0-9]+){PLACEHOLDER}")
        self._pending: list[Span] = []  # closed spans not rendered yet (see _close)
        self._failed: BaseException | None = None  # a rendering error, raised by the next render()

    def chat(self, *, start_ns: int, model: str, request: dict[str, Any], response: dict[str, Any] | None,
             usage: dict[str, int] | None, cost_usd: float | None, error: str | None = None) -> None:
        """Record a model request. Each message is turned into GenAI JSON once, the first time a request
        carries it, however many later requests repeat it."""
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
        self._close(Span(f"chat {model}", KIND_CLIENT, start_ns, self.root.span_id, end_ns=time.time_ns(),
                         attributes=attrs, error=error, content={"request": request, "response": response}))

    def tool(self, *, start_ns: int, call_id: str, name: str, args: Any, result: str, is_error: bool) -> None:
        if self.path is None:
            return
        attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.tool.call.id": call_id,
                 "gen_ai.tool.type": "function", "gen_ai.tool.call.arguments": _dumps(args),
                 "gen_ai.tool.call.result": _cut(result)}
        self._close(Span(f"execute_tool {name}", KIND_INTERNAL, start_ns, self.root.span_id,
                         end_ns=time.time_ns(), attributes=attrs, error=_cut(result, 500) if is_error else None))

    def finish(self, attributes: dict[str, Any], error: str | None) -> None:
        """Close the root span; `write()` then puts the file on disk."""
        self.root.end_ns = time.time_ns()
        self.root.attributes.update(attributes)
        self.root.error = error

    def write(self, rendered: str | None = None) -> None:
        """Put the trace on disk; `rendered` is what `render()` returned, if the caller already has it."""
        if self.path is None:
            return
        atomic_write_text(self.path, (self.render() if rendered is None else rendered) + "\n")

    def render(self) -> str:
        """The TracesData JSON, redacted: the root span (still open, or closed by `finish`), then the rest."""
        self._drain()
        if self._failed is not None:
            raise self._failed
        shell = self.redactor.dumps({"resourceSpans": [{
            "resource": {"attributes": _attrs({"service.name": "agentbook", "service.version": __version__})},
            "scopeSpans": [{"scope": {"name": "agentbook.session", "version": __version__},
                            "spans": [self._nonce]}]}]})
        return shell.replace(f'"{self._nonce}"', ", ".join([self._render(self.root), *self._closed]), 1)

    def _close(self, span: Span) -> None:
        """Render `span` soon, not now: inside an event loop, at its next turn, by which time the session
        that closed it has usually sent its next request, so the rendering (a tenth of a turn's CPU) sits
        off the session's path from one reply to its next request; other sessions' ready work goes first.
        Spans are rendered in the order they closed, and `render()` first renders any still pending."""
        self._pending.append(span)
        if len(self._pending) > 1:
            return
        try:
            asyncio.get_running_loop().call_soon(self._drain)
        except RuntimeError:  # no event loop: render now
            self._drain()

    def _drain(self) -> None:
        pending, self._pending = self._pending, []
        try:
            for span in pending:
                rendered = self._render(span)
                self._size += len(rendered)
                self._closed.append(rendered)
        except Exception as err:  # noqa: BLE001 -- raised where the trace is rendered (`render`), not lost
            self._failed = self._failed or err

    def _render(self, span: Span) -> str:
        """One span as redacted JSON. Each chat span repeats the whole history on
        `gen_ai.input.messages`, so the file grows with turns squared; that repeated part is built once
        per message instead: rendered, redacted and escaped as a JSON string fragment a single time, and
        spliced into the span's small redacted skeleton by a placeholder (with a nonce no content can
        know); so is the system prompt. Key shapes and listed secrets never span two messages, so
        redacting each one on its own finds what a pass over the whole text would."""
        spliced: list[str] = []  # the repeated attribute texts, redacted and escaped, by placeholder number
        skeleton = _dumps(self._otlp(span, spliced))
        if not spliced:
            return self.redactor.json_text(skeleton)
        uses = len(self._placeholder.findall(skeleton))
        text, found = self._placeholder.subn(lambda m: spliced[int(m.group(1))], self.redactor.json_text(skeleton))
        if found != uses:  # a listed secret matched inside a placeholder: redact the whole text instead
            text = self.redactor.json_text(self._placeholder.sub(lambda m: spliced[int(m.group(1))], skeleton))
        return text

    def _otlp(self, span: Span, spliced: list[str]) -> dict[str, Any]:
        content = self._content_attributes(span.content, spliced)
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

    def _content_attributes(self, content: dict[str, Any] | None, spliced: list[str]) -> dict[str, Any]:
        if content is None:
            return {}
        request, response = content["request"], content["response"]
        messages = request.get("messages", [])
        skip = self._sent if self._size > self._history_max and self._sent <= len(messages) else 0
        self._sent = len(messages)
        parts = [self._fragment(message, lambda m: to_genai_messages([m])[0]) for message in messages[skip:]]
        out: dict[str, Any] = {"gen_ai.input.messages": self._splice(spliced, "[" + ", ".join(parts) + "]")}
        if skip:
            out["agentbook.input.messages_omitted"] = skip
        system = request.get("system")
        if system:  # the same on every turn: rendered once, like a message
            out["gen_ai.system_instructions"] = self._splice(spliced, self._fragment(system, _system_parts))
        if response is not None:
            out["gen_ai.output.messages"] = _dumps([{"role": "assistant", "parts": _parts(response["content"]),
                                                     "finish_reason": response.get("stop_reason") or ""}])
        return out

    def _fragment(self, value: Any, to_genai: Any) -> str:
        known = self._fragments.get(id(value))
        if known is None or known[0] is not value:
            text = self.redactor.dumps(to_genai(value))
            known = self._fragments[id(value)] = (value, json.dumps(text, ensure_ascii=False)[1:-1])
        return known[1]

    def _splice(self, spliced: list[str], text: str) -> str:
        spliced.append(text)
        return f"{PLACEHOLDER}{self._nonce}:{len(spliced) - 1}{PLACEHOLDER}"


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
