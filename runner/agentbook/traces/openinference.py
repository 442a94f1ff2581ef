"""OpenInference (Arize Phoenix) attributes -> span fields.

Kind in `openinference.span.kind`; messages flattened as `llm.input_messages.N.message.role|content|
contents.K.message_content.text|tool_calls.K.tool_call.function.name|arguments`; `input.value` /
`output.value` for everything else (LangChain's instrumentor writes its serialised messages there, read
as messages when no flattened ones exist: `traces/langsmith_messages.py`, and filling in the tool calls
or text a flattened message lacks); tokens in `llm.token_count.*`; prompt templates in
`llm.prompt_template.*`; retrieved documents in `retrieval.documents.N.document.*`.
"""

from __future__ import annotations

from typing import Any

from . import langsmith_messages as lc
from .attrs import pop_first, pop_indexed
from .model import Message, Span, ToolCall
from .values import as_float, as_int, as_text, maybe_json, to_messages

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
    """`input.value` / `output.value`: tool args and result for TOOL spans, else the messages they hold
    (when no flattened ones were read) or plain input/output."""
    in_value, out_value = a.get("input.value"), a.get("output.value")
    span.tool_name = span.tool_name or str(a.pop("tool.name", "") or "")
    span.tool_call_id = span.tool_call_id or str(a.pop("tool_call.id", "") or "")
    if span.kind == "tool":
        _tool_values(span, a, in_value, out_value)
        return
    if in_value is not None and span.input_messages:
        _fill(span.input_messages, lc.lc_messages(in_value, "user"))
    elif in_value is not None:
        if not _lc_input(span, a, in_value):
            parsed = to_messages(in_value)
            if parsed:
                span.input_messages = parsed
            else:
                span.input_text = as_text(in_value)
        a.pop("input.value")
    if out_value is not None and span.output_messages:
        _fill(span.output_messages, lc.lc_generations(out_value) or lc.lc_messages(out_value, "assistant"))
    elif out_value is not None:
        if not _lc_output(span, a, out_value):
            span.output_text = as_text(out_value)
        a.pop("output.value")
    if out_value is not None:
        _lc_usage(span, out_value)
    for key in ("input.mime_type", "output.mime_type"):
        if a.get(key.replace("mime_type", "value")) is None:
            a.pop(key, None)


def _fill(flat: list[Message], found: tuple[list[Message], dict[str, Any]] | None) -> None:
    """What the flattened messages lack and the serialised ones in the value hold, filled in message by
    message when both list the same roles: the instrumentor flattens tool calls from `additional_kwargs`
    only, so an AIMessage whose provider objects LangChain could not serialise (LiteLLM's) is flattened
    with its role alone while `kwargs.tool_calls` has the calls. The value stays as it is, in span.json."""
    serialised = found[0] if found else []
    if len(serialised) != len(flat) or any(f.role != s.role for f, s in zip(flat, serialised, strict=True)):
        return
    for msg, full in zip(flat, serialised, strict=True):
        msg.tool_calls = msg.tool_calls or full.tool_calls
        msg.content = msg.content or full.content
        msg.reasoning = msg.reasoning or full.reasoning
        msg.tool_call_id = msg.tool_call_id or full.tool_call_id
        msg.finish_reason = msg.finish_reason or full.finish_reason


def _tool_values(span: Span, a: dict[str, Any], in_value: Any, out_value: Any) -> None:
    """A tool's arguments, and its result: the text of the ToolMessage LangChain returns (linked to the
    model's call by its `tool_call_id`, its other fields kept as `output.message`), else the value."""
    if in_value is not None and span.tool_args is None:
        span.tool_args = as_text(a.pop("input.value"))
    if out_value is None or span.tool_result is not None:
        return
    found = lc.tool_message(maybe_json(out_value))
    if found is None:
        span.tool_result = as_text(a.pop("output.value"))
        return
    msg, kept = found
    a.pop("output.value")
    span.tool_result = msg.content
    span.tool_call_id = span.tool_call_id or msg.tool_call_id
    a["output.message"] = kept


def _lc_input(span: Span, a: dict[str, Any], value: Any) -> bool:
    """LangChain's serialised messages (`{"messages": [[...]]}`, LangGraph's flat state) or a completion
    model's `{"prompts": [...]}` in `input.value`: the span's input messages. The instrumentor repeats the
    prompts in `llm.prompts`, dropped when they are the same texts."""
    found = lc.lc_messages(value, "user") or lc.prompts(value)
    if found is None:
        return False
    span.input_messages = found[0]
    if a.get("llm.prompts") == [m.content for m in found[0]]:
        a.pop("llm.prompts")
    _keep(a, "input", found[1], 0)
    return True


def _lc_output(span: Span, a: dict[str, Any], value: Any) -> bool:
    """An LLMResult's generations, or LangGraph's state messages, in `output.value`: the span's output
    messages. A state repeats the input's messages first; those are rendered once, as input."""
    found = lc.lc_generations(value) or lc.lc_messages(value, "assistant")
    if found is None:
        return False
    messages, kept = found
    repeated = _repeated(span.input_messages, messages)
    if repeated:
        fields = kept.pop("message_fields", [])
        kept["repeats_input_messages"] = repeated
        kept["message_fields"] = [{**f, "message": f["message"] - repeated} for f in fields
                                  if f["message"] >= repeated]
        earlier = [{"input_message": f["message"], **{k: v for k, v in f.items() if k != "message"}}
                   for f in fields if f["message"] < repeated]
        if earlier:
            kept["repeated_message_fields"] = earlier
        kept = {k: v for k, v in kept.items() if v not in ([], None)}
    span.output_messages = messages[repeated:]
    if not span.model:
        span.model = lc.model_name(value)
    _keep(a, "output", kept, len(span.input_messages))
    return True


def _repeated(inputs: list[Message], outputs: list[Message]) -> int:
    """How many of `outputs` repeat `inputs` from the start, message for message."""
    n = 0
    for before, after in zip(inputs, outputs, strict=False):
        if (before.role, before.content, before.name, before.tool_call_id, before.tool_calls) != (
                after.role, after.content, after.name, after.tool_call_id, after.tool_calls):
            break
        n += 1
    return n if n == len(inputs) else 0


def _lc_usage(span: Span, value: Any) -> None:
    """Tokens of an LLMResult (its `llm_output`, else its messages' `usage_metadata`) when no
    `llm.token_count.*` attribute gave them."""
    if span.input_tokens is None and span.output_tokens is None:
        span.input_tokens, span.output_tokens = lc.usage(value)


def _keep(a: dict[str, Any], side: str, kept: dict[str, Any], first_number: int) -> None:
    """The keys beside the messages (`input.rest`), and each message's unread fields under the number of
    its file in `messages/` (output messages are numbered after the input ones)."""
    if "rest" in kept:
        a[f"{side}.rest"] = kept.pop("rest")
    if "message_fields" in kept:
        a[f"{side}.message_fields"] = [
            {**fields, "message": fields["message"] + first_number} for fields in kept.pop("message_fields")]
    a.update({f"{side}.{k}": v for k, v in kept.items()})


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
