"""OpenInference (Arize Phoenix) attributes -> span fields.

Kind in `openinference.span.kind`; messages flattened as `llm.input_messages.N.message.role|content|
contents.K.message_content.text|tool_calls.K.tool_call.function.name|arguments`; `input.value` /
`output.value` for everything else; tokens in `llm.token_count.*`; prompt templates in
`llm.prompt_template.*`; retrieved documents in `retrieval.documents.N.document.*`.
"""

from __future__ import annotations

from typing import Any

from .attrs import pop_first, pop_indexed
from .model import Message, Span, ToolCall
from .values import as_float, as_int, as_text, to_messages

SPAN_KINDS = {
    "LLM": "llm", "TOOL": "tool", "AGENT": "agent", "CHAIN": "chain", "RETRIEVER": "retrieval",
    "RERANKER": "retrieval", "EMBEDDING": "other", "GUARDRAIL": "other", "EVALUATOR": "other",
}


def has_openinference(attrs: dict[str, Any]) -> bool:
    return "openinference.span.kind" in attrs or any(
        k.startswith(("llm.input_messages", "llm.output_messages", "llm.model_name")) for k in attrs)


def apply_openinference(span: Span) -> None:
    a = span.attributes
    kind = str(a.pop("openinference.span.kind", "") or "").upper()
    if kind in SPAN_KINDS and (span.kind == "other" or kind != "CHAIN"):
        span.kind = SPAN_KINDS[kind]
    span.model = span.model or str(pop_first(a, "llm.model_name") or "")
    if span.input_tokens is None:
        span.input_tokens = as_int(a.pop("llm.token_count.prompt", None))
    if span.output_tokens is None:
        span.output_tokens = as_int(a.pop("llm.token_count.completion", None))
    a.pop("llm.token_count.total", None)
    if span.cost_usd is None:
        span.cost_usd = as_float(a.pop("llm.cost.total", None))
    for side, role in (("input", "user"), ("output", "assistant")):
        target = span.input_messages if side == "input" else span.output_messages
        for n, item in enumerate(pop_indexed(a, f"llm.{side}_messages")):
            target.append(_message(item, role))
            # fields no rule reads (an image url, a vendor extension) go back as attributes, verbatim
            a.update({f"llm.{side}_messages.{n}.message.{k}": v for k, v in item.items()})
    _values(span, a)
    _prompt(span, a)
    _documents(span, a)


def _message(item: dict[str, Any], default_role: str) -> Message:
    """One flattened message; what it reads is removed from `item`, so what is left was not understood."""
    for key in list(item):
        if key.startswith("message."):
            item[key.removeprefix("message.")] = item.pop(key)
    msg = Message(role=str(item.pop("role", "") or default_role), name=str(item.pop("name", "") or ""),
                  tool_call_id=str(item.pop("tool_call_id", "") or ""))
    content = item.pop("content", None)
    texts = [as_text(content)] if content not in (None, "") else []
    for k, part in enumerate(pop_indexed(item, "contents")):
        part = {key.removeprefix("message_content."): v for key, v in part.items()}
        kind = part.pop("type", None)
        if part.get("text") not in (None, ""):
            texts.append(as_text(part.pop("text")))
        elif kind not in (None, "text"):
            texts.append(f"[{kind} content]")
        item.update({f"contents.{k}.message_content.{key}": v for key, v in part.items() if v not in (None, "")})
    for call in pop_indexed(item, "tool_calls"):
        call = {k.removeprefix("tool_call."): v for k, v in call.items()}
        msg.tool_calls.append(ToolCall(name=str(call.get("function.name", "")),
                                       arguments=as_text(call.get("function.arguments")),
                                       id=str(call.get("id", "") or "")))
    msg.content = "\n".join(t for t in texts if t)
    return msg


def _values(span: Span, a: dict[str, Any]) -> None:
    """`input.value` / `output.value`: tool args and result for TOOL spans, else plain input/output."""
    in_value, out_value = a.get("input.value"), a.get("output.value")
    span.tool_name = span.tool_name or str(a.pop("tool.name", "") or "")
    span.tool_call_id = span.tool_call_id or str(a.pop("tool_call.id", "") or "")
    if span.kind == "tool":
        if in_value is not None and span.tool_args is None:
            span.tool_args = as_text(a.pop("input.value"))
        if out_value is not None and span.tool_result is None:
            span.tool_result = as_text(a.pop("output.value"))
        return
    if in_value is not None and not span.input_messages:
        parsed = to_messages(in_value)
        if parsed:
            span.input_messages = parsed
        else:
            span.input_text = as_text(in_value)
        a.pop("input.value")
    if out_value is not None and not span.output_messages:
        span.output_text = as_text(a.pop("output.value"))
    for key in ("input.mime_type", "output.mime_type"):
        if key not in ("input.value", "output.value") and (a.get(key.replace("mime_type", "value")) is None):
            a.pop(key, None)


def _prompt(span: Span, a: dict[str, Any]) -> None:
    for field_name in ("version", "id", "name"):
        value = a.get(f"llm.prompt_template.{field_name}")
        if value not in (None, ""):
            span.prompt[field_name] = as_text(a.pop(f"llm.prompt_template.{field_name}"))
    if a.get("llm.prompt_template.template") and "template" not in span.prompt:
        span.prompt["template"] = as_text(a.pop("llm.prompt_template.template"))


def _documents(span: Span, a: dict[str, Any]) -> None:
    docs = pop_indexed(a, "retrieval.documents")
    if not docs:
        return
    lines = []
    for n, doc in enumerate(docs):
        doc = {k.removeprefix("document."): v for k, v in doc.items()}
        head = f"## document {n}" + (f" id={doc.get('id')}" if doc.get("id") else "")
        head += f" score={doc.get('score')}" if doc.get("score") is not None else ""
        lines += [head, as_text(doc.get("content")), ""]
    span.output_text = (span.output_text + "\n\n" if span.output_text else "") + "\n".join(lines)
