"""OTel GenAI semantic conventions -> span fields, in both dialects seen in the wild.

Newer (> v1.36): `gen_ai.input.messages` / `gen_ai.output.messages` / `gen_ai.system_instructions`
hold JSON with typed parts (`text`, `tool_call`, `tool_call_response`, `reasoning`), on the span or on
its `gen_ai.client.inference.operation.details` event (where an instrumentation records content on
events only). Older (<= v1.36):
one span event per message (`gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`,
`gen_ai.tool.message`, `gen_ai.choice`), or `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` attributes.
any-agent's variant (`call_llm`, `gen_ai.output`, `gen_ai.tool.args`) is read too.
"""

from __future__ import annotations

from typing import Any

from .attrs import pop_first, pop_indexed
from .model import Message, Span, ToolCall
from .values import (
    as_float,
    as_int,
    as_text,
    blocks_text,
    is_message_list,
    maybe_json,
    to_message,
    to_messages,
)

OPERATION_KINDS = {
    "chat": "llm", "text_completion": "llm", "generate_content": "llm", "call_llm": "llm",
    "completion": "llm", "execute_tool": "tool", "invoke_agent": "agent", "create_agent": "agent",
    "invoke_workflow": "chain", "embeddings": "other", "retrieval": "retrieval",
}
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
ROLE_EVENTS = {
    "gen_ai.system.message": "system", "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool",
}


def has_genai(attrs: dict[str, Any]) -> bool:
    return any(k.startswith("gen_ai.") for k in attrs)


def apply_genai(span: Span) -> None:
    a = span.attributes
    operation = str(a.pop("gen_ai.operation.name", "") or "")
    if operation in OPERATION_KINDS:
        span.kind = OPERATION_KINDS[operation]
    elif operation:
        span.attributes["gen_ai.operation.name"] = operation
    span.model = span.model or str(pop_first(a, "gen_ai.response.model", "gen_ai.request.model") or "")
    _usage(span, a)
    _messages(span, a)
    _tool(span, a)
    _legacy_events(span)
    _tool_from_messages(span)
    error_type = a.get("error.type")
    if error_type and span.status != "error":
        span.status = "error"
        span.status_message = span.status_message or str(error_type)
    if not span.name:
        span.name = " ".join(x for x in (operation, span.tool_name or span.model) if x) or "span"


def _usage(span: Span, a: dict[str, Any]) -> None:
    span.input_tokens = as_int(pop_first(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"))
    span.output_tokens = as_int(pop_first(a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"))
    cost = as_float(pop_first(a, "gen_ai.usage.cost", "operation.cost", "agentbook.cost_usd"))
    parts = [as_float(a.pop(k, None)) for k in ("gen_ai.usage.input_cost", "gen_ai.usage.output_cost")]
    if cost is None and any(p is not None for p in parts):
        cost = sum(p or 0.0 for p in parts)
    span.cost_usd = cost


def _messages(span: Span, a: dict[str, Any]) -> None:
    c = span.content()  # once: every field below is read and set many times per span
    system = a.pop("gen_ai.system_instructions", None)
    if system is not None:
        parsed = maybe_json(system)
        items = parsed if isinstance(parsed, list) else [parsed]
        content = "\n".join(as_text(p.get("content")) if isinstance(p, dict) else as_text(p) for p in items)
        c.input_messages.append(Message(role="system", content=content))
    raw_in = a.pop("gen_ai.input.messages", None)
    if raw_in is not None:
        c.input_messages += to_messages(raw_in) or [Message(role="user", content=as_text(raw_in))]
    raw_out = a.pop("gen_ai.output.messages", None)
    if raw_out is not None:
        c.output_messages += to_messages(raw_out, "assistant") or [
            Message(role="assistant", content=as_text(raw_out))]
    c.input_messages += _indexed(a, "gen_ai.prompt", "user")
    c.output_messages += _indexed(a, "gen_ai.completion", "assistant")
    reasons = a.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list) and c.output_messages and not c.output_messages[-1].finish_reason:
        c.output_messages[-1].finish_reason = ",".join(str(r) for r in reasons)
    output = a.pop("gen_ai.output", None)
    if output is not None and span.kind != "tool":
        a.pop("gen_ai.output.type", None)
        c.output_messages.append(_anyagent_output(output))
    elif output is not None:
        a.pop("gen_ai.output.type", None)
        c.tool_result = as_text(output)


def _anyagent_output(output: Any) -> Message:
    """any-agent writes an LLM's reply as text, or as `[{"tool.name": .., "tool.args": ..}]`."""
    parsed = maybe_json(output)
    if isinstance(parsed, list) and parsed and all(isinstance(x, dict) and "tool.name" in x for x in parsed):
        calls = [ToolCall(name=str(x["tool.name"]), arguments=as_text(x.get("tool.args"))) for x in parsed]
        return Message(role="assistant", tool_calls=calls)
    return Message(role="assistant", content=as_text(output))


def _indexed(a: dict[str, Any], prefix: str, role: str) -> list[Message]:
    """`prefix.N.*` attributes, or `prefix` as a JSON message list / a JSON `{text, finish_reason}` reply
    (the deprecated `gen_ai.prompt` / `gen_ai.completion`). What reads as neither stays in `a`."""
    if prefix not in a and not any(k.startswith(prefix) for k in a):  # the common case, cheaply
        return []
    value = maybe_json(a.get(prefix))
    if isinstance(value, dict) and "text" in value and "role" not in value:
        del a[prefix]
        return [Message(role=role, content=as_text(value.get("text")),
                        finish_reason=as_text(value.get("finish_reason") or ""))]
    if isinstance(value, list) and is_message_list(value):
        del a[prefix]
        return to_messages(value, role) or []
    out = []
    for item in pop_indexed(a, prefix):
        calls = [ToolCall(name=str(c.get("name", "")), arguments=as_text(c.get("arguments")), id=str(c.get("id", "")))
                 for c in pop_indexed(item, "tool_calls")]
        out.append(Message(role=str(item.get("role") or role), content=as_text(item.get("content")),
                           tool_calls=calls, finish_reason=str(item.get("finish_reason") or ""),
                           tool_call_id=str(item.get("tool_call_id") or "")))
        rest = {k: v for k, v in item.items() if k not in ("role", "content", "finish_reason", "tool_call_id")}
        if rest:  # fields of a message no rule reads: back as attributes, verbatim
            a.update({f"{prefix}.{len(out) - 1}.{k}": v for k, v in rest.items()})
    return out


def _tool(span: Span, a: dict[str, Any]) -> None:
    span.tool_name = span.tool_name or str(a.pop("gen_ai.tool.name", "") or "")
    span.tool_call_id = span.tool_call_id or str(a.pop("gen_ai.tool.call.id", "") or "")
    args = pop_first(a, "gen_ai.tool.call.arguments", "gen_ai.tool.args")
    if args is not None:
        span.tool_args = as_text(args)
    result = a.pop("gen_ai.tool.call.result", None)
    if result is not None:
        span.tool_result = blocks_text(result)
    if span.kind == "other" and (span.tool_args is not None or span.tool_name):
        span.kind = "tool"


def _tool_from_messages(span: Span) -> None:
    """A tool span whose call came as messages (Strands' `gen_ai.tool.message` event holds the arguments,
    its `gen_ai.choice` the result): its arguments and result, when no attribute gave them."""
    if span.kind != "tool":
        return
    asked = [m for m in span.input_messages if m.role == "tool" and not m.tool_calls and m.content]
    if span.tool_args is None and len(asked) == 1:
        span.tool_args = asked[0].content
    answers = [m for m in span.output_messages if m.content and not m.tool_calls]
    if span.tool_result is None and len(answers) == 1:
        span.tool_result = answers[0].content


def _legacy_events(span: Span) -> None:
    """Per-message events (<= v1.36) and the newer operation-details event: take their content, keep
    all other events (and what a details event carries besides messages) as they are."""
    if not span.events:
        return
    kept = []
    for event in span.events:
        name = str(event.get("name", ""))
        body = dict(event.get("attributes") or {})
        for key in ("gen_ai.event.content", "event.body", "body"):
            if key in body and isinstance(maybe_json(body[key]), dict):
                body.update(maybe_json(body.pop(key)))
        if name in ROLE_EVENTS:
            body.setdefault("role", ROLE_EVENTS[name])
            if name == "gen_ai.tool.message" and "id" in body:  # the older events name the call `id`
                body.setdefault("tool_call_id", body.pop("id"))
            span.input_messages.append(to_message(_unjson(body), ROLE_EVENTS[name]))
        elif name == "gen_ai.choice":
            message = maybe_json(body.get("message")) or {}
            message = dict(message) if isinstance(message, dict) else {"content": message}
            message.setdefault("role", "assistant")
            message.setdefault("finish_reason", body.get("finish_reason") or "")
            span.output_messages.append(to_message(_unjson(message), "assistant"))
        elif name == DETAILS_EVENT:  # the newer conventions' messages, as the event's attributes
            _messages(span, body)
            if body:  # what it carries besides (model, usage, ids): kept on the event
                kept.append({**event, "attributes": body})
        elif name == "gen_ai.content.prompt":
            span.input_messages += to_messages(body.get("gen_ai.prompt")) or [
                Message(role="user", content=as_text(body.get("gen_ai.prompt")))]
        elif name == "gen_ai.content.completion":
            span.output_messages += to_messages(body.get("gen_ai.completion"), "assistant") or [
                Message(role="assistant", content=as_text(body.get("gen_ai.completion")))]
        else:
            kept.append(event)
    if len(kept) < len(span.events):  # the events read became messages: say which, so their names are kept
        span.attributes["gen_ai.events.read"] = [str(e.get("name", "")) for e in span.events if e not in kept]
    span.events = kept


def _unjson(body: dict[str, Any]) -> dict[str, Any]:
    """Event attributes often carry `content` / `tool_calls` as JSON strings."""
    out = dict(body)
    for key in ("content", "tool_calls"):
        if key in out:
            parsed = maybe_json(out[key])
            if key == "tool_calls" or isinstance(parsed, list):
                out[key] = parsed
    if "gen_ai.system" in out:
        out.pop("gen_ai.system")
    return out
