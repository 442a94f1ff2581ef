"""Vercel AI SDK telemetry (`experimental_telemetry`) attributes -> span fields.

The SDK names each span by its operation (`ai.operationId`): `ai.generateText` / `ai.streamText` /
`ai.generateObject` / `ai.streamObject` wrap one or more provider calls (`...doGenerate`,
`...doStream`), which may have `ai.toolCall` spans under them; `ai.embed(Many)` wraps `...doEmbed`.
Content is in `ai.prompt` (JSON: `system`, `prompt`, `messages`), `ai.prompt.messages` (the messages the
provider got), `ai.response.text` / `.object` / `.toolCalls` / `.reasoning`, `ai.toolCall.args|input`
and `ai.toolCall.result|output`; tokens in `ai.usage.promptTokens|completionTokens` (v4) or
`ai.usage.inputTokens|outputTokens` (v5 and later). Anything not read here stays an attribute.
"""

from __future__ import annotations

from typing import Any

from .model import Message, Span, ToolCall
from .values import as_dict, as_int, as_text, maybe_json, to_messages

# The operation's last dotted part -> span kind (`ai.generateText.doGenerate` -> `doGenerate`).
KINDS = {"doGenerate": "llm", "doStream": "llm", "toolCall": "tool", "doEmbed": "other", "embed": "other",
         "embedMany": "other"}


def has_vercel(attrs: dict[str, Any]) -> bool:
    return "ai.operationId" in attrs


def apply_vercel(span: Span) -> None:
    a = span.attributes
    operation = str(a.get("ai.operationId") or "")
    span.kind = KINDS.get(operation.rsplit(".", 1)[-1], "chain")
    span.model = span.model or str(_take(a, "ai.response.model", "ai.model.id") or "")
    if span.input_tokens is None:
        span.input_tokens = as_int(_take(a, "ai.usage.inputTokens", "ai.usage.promptTokens", "ai.usage.tokens"))
    if span.output_tokens is None:
        span.output_tokens = as_int(_take(a, "ai.usage.outputTokens", "ai.usage.completionTokens"))
    _prompt(span, a)
    _response(span, a)
    _tool(span, a)


def _take(a: dict[str, Any], *keys: str) -> Any:
    """The first of `keys` that has a value, popped; the others stay (two spellings may disagree, as
    the requested and the answering model do)."""
    for key in keys:
        if a.get(key) not in (None, ""):
            return a.pop(key)
    return None


def _prompt(span: Span, a: dict[str, Any]) -> None:
    """`ai.prompt.messages` is what the provider was sent; `ai.prompt` what the caller passed (kept
    as text when it is neither a message list nor `{system, prompt, messages}`)."""
    raw = a.pop("ai.prompt.messages", None)
    if raw is None:
        raw = a.pop("ai.prompt", None)
    if raw is None:
        return
    messages = to_messages(raw)
    prompt = as_dict(maybe_json(raw))
    if messages is None and ("prompt" in prompt or "system" in prompt):
        messages = [Message(role="system", content=as_text(prompt["system"]))] if prompt.get("system") else []
        if prompt.get("prompt") is not None:
            messages += to_messages(prompt["prompt"]) or [Message(role="user", content=as_text(prompt["prompt"]))]
        rest = {k: v for k, v in prompt.items() if k not in ("system", "prompt")}
        if rest:
            a["ai.prompt.rest"] = rest
    if messages is None:
        span.input_text = as_text(raw)
    else:
        span.input_messages += messages


def _response(span: Span, a: dict[str, Any]) -> None:
    calls = maybe_json(a.get("ai.response.toolCalls"))
    if isinstance(calls, list) and all(isinstance(c, dict) for c in calls):
        a.pop("ai.response.toolCalls")
    else:
        calls = []  # absent, or not the shape read here: the attribute stays as it was
    text = _take(a, "ai.response.text", "ai.response.object")
    reasoning = a.pop("ai.response.reasoning", None)
    if text is None and not calls and reasoning is None:
        return
    reply = Message(role="assistant", content=as_text(text), reasoning=as_text(reasoning),
                    finish_reason=str(a.pop("ai.response.finishReason", "") or ""))
    for call in calls:
        reply.tool_calls.append(ToolCall(name=str(call.get("toolName") or ""), id=str(call.get("toolCallId") or ""),
                                         arguments=as_text(call.get("input", call.get("args")))))
    span.output_messages.append(reply)


def _tool(span: Span, a: dict[str, Any]) -> None:
    name = a.pop("ai.toolCall.name", None)
    if name is None:
        return
    span.tool_name = str(name)
    span.tool_call_id = str(a.pop("ai.toolCall.id", "") or "")
    args = _take(a, "ai.toolCall.input", "ai.toolCall.args")
    result = _take(a, "ai.toolCall.output", "ai.toolCall.result")
    span.tool_args = None if args is None else as_text(args)
    span.tool_result = None if result is None else as_text(result)
