"""LangChain's messages as LangSmith runs carry them: the serialised form and the generations.

LangChain's tracer writes a chat model's input as `{"messages": [[message, ...]]}` (one list per
prompt of the batch) and its output as an LLMResult, `{"generations": [[{text, message,
generation_info}]], "llm_output": {...}}`. A message is LangChain's serialised object, `{"lc": 1,
"type": "constructor", "id": [..., "AIMessage"], "kwargs": {content, tool_calls, tool_call_id, ...}}`,
or its older dict forms (`{"type": "human", "data": {...}}`, or the kwargs alone with `type`).
LangGraph's chain runs hold the same messages flat under `messages`, `input` or `output`.
OpenInference's LangChain instrumentor writes the same JSON into `input.value` / `output.value`, so its
reader (`traces/openinference.py`) uses these functions too.

Each becomes a `Message` (role, text, tool calls with name and arguments, the id of the call a tool
message answers, reasoning); what a message holds besides (its class, ids, response metadata, usage,
content parts' extra fields, `additional_kwargs`) comes back beside it, so the reader keeps it as
data. Serialised secrets (`"type": "secret"`) and objects LangChain could not serialise
(`"not_implemented"`) are never messages: they stay data, and a secret is never looked up.
"""

from __future__ import annotations

from typing import Any

from .model import Message, ToolCall
from .values import as_dict, as_int, as_list, as_text, first, maybe_json, to_message

# LangChain's message classes (and their streamed chunks) by the role they stand for
_CLASS_ROLES = {"HumanMessage": "user", "AIMessage": "assistant", "SystemMessage": "system",
                "ToolMessage": "tool", "FunctionMessage": "tool", "ChatMessage": "", "RemoveMessage": "remove"}
# the `type` LangChain gives each message in its dict forms
_TYPE_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool",
               "chat": "", "developer": "developer", "remove": "remove",
               "HumanMessageChunk": "user", "AIMessageChunk": "assistant", "SystemMessageChunk": "system",
               "ToolMessageChunk": "tool", "FunctionMessageChunk": "tool", "ChatMessageChunk": ""}
_READ = frozenset({"content", "type", "role", "tool_call_id", "name"})  # kwargs a Message holds
_EMPTY: tuple[Any, ...] = (None, "", [], {})
Fields = dict[str, Any]


def _role_of(obj: Any) -> tuple[str | None, dict[str, Any], Fields]:
    """(role, kwargs, envelope fields) when `obj` is one LangChain message, else (None, {}, {})."""
    if type(obj) is not dict:
        return None, {}, {}
    if obj.get("lc") == 1 and obj.get("type") == "constructor":
        path = as_list(obj.get("id"))
        cls = str(path[-1]) if path else ""
        base = cls.removesuffix("Chunk")
        kwargs = as_dict(obj.get("kwargs"))
        if base not in _CLASS_ROLES or not isinstance(obj.get("kwargs"), dict):
            return None, {}, {}
        role = _CLASS_ROLES[base] or str(kwargs.get("role") or "")
        envelope: Fields = {"class": ".".join(str(p) for p in path)}
        other = {k: v for k, v in obj.items() if k not in ("lc", "type", "id", "kwargs") and v not in _EMPTY}
        if other:
            envelope["envelope"] = other
        return role or "chat", kwargs, envelope
    kind = obj.get("type")
    if isinstance(kind, str) and kind in _TYPE_ROLES:
        if isinstance(obj.get("data"), dict) and len(obj) == 2:  # messages_to_dict's {type, data}
            data = obj["data"]
            return _TYPE_ROLES[kind] or str(data.get("role") or "chat"), data, {}
        if "content" in obj:  # the kwargs alone (a tool run's output, the JS SDK's messages)
            return _TYPE_ROLES[kind] or str(obj.get("role") or "chat"), obj, {}
    return None, {}, {}


def is_message(obj: Any) -> bool:
    return _role_of(obj)[0] is not None


def _calls(kwargs: dict[str, Any], fields: Fields) -> list[ToolCall]:
    """The tool calls of an AI message: LangChain's own `tool_calls` ({name, args, id}); calls it
    could not read (`invalid_tool_calls`) and the provider's raw ones stay with the other fields."""
    calls, unread = [], []
    for call in as_list(kwargs.get("tool_calls")):
        if type(call) is dict and isinstance(call.get("name"), str):
            args = call.get("args", call.get("arguments"))
            calls.append(ToolCall(name=call["name"], arguments=as_text(args), id=str(call.get("id") or "")))
            rest = {k: v for k, v in call.items() if k not in ("name", "args", "arguments", "id", "type")
                    and v not in _EMPTY}
            if rest:
                unread.append({"call": len(calls) - 1, "fields": rest})
        else:  # an object LangChain could not serialise, a secret: data
            unread.append(call)
    if unread:
        fields["tool_calls"] = unread
    return calls


def _content(msg: Message, content: Any, fields: Fields) -> None:
    """The text of `content` (a string or a list of parts) into `msg`; parts' other fields to `fields`."""
    if isinstance(content, str):
        msg.content = content
        return
    if not isinstance(content, list):
        msg.content = as_text(content)  # a secret or an object in place of the text: as data, as JSON
        return
    texts: list[str] = []
    known = {c.id for c in msg.tool_calls if c.id}
    unread: list[Any] = []
    for index, part in enumerate(content):
        rest = _part(msg, part, texts, known)
        if rest:
            unread.append({"part": index, "fields": rest})
    msg.content = "\n".join(t for t in texts if t)
    if unread:
        fields["content_parts"] = unread


def _part(msg: Message, part: Any, texts: list[str], known: set[str]) -> Fields:
    """One content part: its text, reasoning or tool call into `msg`, the fields it did not use back."""
    if isinstance(part, str):
        texts.append(part)
        return {}
    if type(part) is not dict:
        texts.append(as_text(part))
        return {}
    kind = part.get("type")
    used: tuple[str, ...]
    if kind == "text" and isinstance(part.get("text"), str):
        texts.append(part["text"])
        used = ("type", "text")
    elif kind in ("tool_use", "tool_call", "server_tool_use") and isinstance(part.get("name"), str):
        call_id = str(part.get("id") or "")
        if not call_id or call_id not in known:  # Anthropic's content repeats the message's tool_calls
            msg.tool_calls.append(ToolCall(part["name"], as_text(part.get("input", part.get("args"))), call_id))
        used = ("type", "name", "input", "args", "id")
    elif kind in ("thinking", "reasoning"):
        summary = [s.get("text") for s in as_list(part.get("summary")) if type(s) is dict]
        text = first(part, "thinking", "reasoning", "text") or "\n".join(s for s in summary if isinstance(s, str))
        msg.reasoning += as_text(text)
        used = ("type", "thinking", "reasoning", "text") + (("summary",) if all(
            type(s) is dict and set(s) <= {"type", "text"} for s in as_list(part.get("summary"))) else ())
    else:  # an image, a file, a provider's own part: whole, as JSON, where the text is
        texts.append(as_text(part))
        return {}
    return {k: v for k, v in part.items() if k not in used and v not in _EMPTY}


def to_lc_message(obj: Any, default_role: str) -> tuple[Message, Fields] | None:
    """One LangChain message and the fields it holds besides those a Message renders."""
    role, kwargs, fields = _role_of(obj)
    if role is None:
        if type(obj) is dict and "role" in obj:  # an OpenAI-style message among LangChain's
            return to_message(obj, default_role), {}
        return None
    msg = Message(role=role, tool_call_id=str(kwargs.get("tool_call_id") or ""), name=str(kwargs.get("name") or ""))
    msg.tool_calls = _calls(kwargs, fields)
    _content(msg, kwargs.get("content"), fields)
    meta = as_dict(kwargs.get("response_metadata"))
    msg.finish_reason = str(first(meta, "finish_reason", "stop_reason") or "")
    rest = {k: v for k, v in kwargs.items() if k not in _READ and k != "tool_calls" and v not in _EMPTY}
    for key in ("name", "tool_call_id", "role"):  # kept when not the plain text they are read as
        if kwargs.get(key) not in _EMPTY and not isinstance(kwargs.get(key), str):
            rest[key] = kwargs[key]
    if rest:
        fields["kwargs"] = rest
    return msg, fields


def tool_message(result: Any) -> tuple[Message, Fields] | None:
    """A tool's result when it is the ToolMessage LangChain returns: the message (its text is the result,
    `tool_call_id` the call it answers) and what else it holds, to keep beside the result."""
    found = to_lc_message(result, "tool") if is_message(result) else None
    if found is None:
        return None
    msg, fields = found
    kept: Fields = {k: v for k, v in (("tool_call_id", msg.tool_call_id), ("name", msg.name)) if v}
    kept.update(fields)
    if msg.tool_calls:
        kept["tool_calls"] = [{"name": c.name, "arguments": c.arguments, "id": c.id} for c in msg.tool_calls]
    return msg, kept


def _flat(value: Any) -> list[Any] | None:
    """A message list as LangChain writes it (flat, or one list per prompt), else None."""
    value = maybe_json(value)
    if type(value) is dict:
        return [value] if is_message(value) else None
    if not isinstance(value, list) or not value:
        return None
    items = [m for batch in value for m in batch] if all(isinstance(b, list) for b in value) else value
    if items and any(is_message(m) for m in items) and all(
            is_message(m) or (type(m) is dict and "role" in m) for m in items):
        return items
    return None


def _convert(items: list[Any], role: str) -> tuple[list[Message], list[Fields]]:
    messages: list[Message] = []
    fields: list[Fields] = []
    for item in items:
        found = to_lc_message(item, role)
        if found is None:
            continue
        msg, extra = found
        if extra:
            fields.append({"message": len(messages), **extra})
        messages.append(msg)
    return messages, fields


def lc_messages(value: Any, role: str) -> tuple[list[Message], Fields] | None:
    """The LangChain messages of a run's inputs or outputs (`messages`, `input`, `output`, or the
    value itself) and what of the value they do not render: `{"rest": the other keys,
    "message_fields": [...]}`. None when there are none."""
    value = maybe_json(value)
    keys = ("messages", "input", "output") if type(value) is dict and not is_message(value) else (None,)
    for key in keys:
        items = _flat(value if key is None else value.get(key))
        if items is None:
            continue
        messages, fields = _convert(items, role)
        kept: Fields = {}
        if key is not None:
            rest = {k: v for k, v in value.items() if k != key and v not in _EMPTY}
            if rest:
                kept["rest"] = rest
        if fields:
            kept["message_fields"] = fields
        return messages, kept
    return None


def prompts(inputs: Any) -> tuple[list[Message], Fields] | None:
    """A completion model's prompts (`{"prompts": [text, ...]}`) as user messages."""
    inputs = maybe_json(inputs)
    texts = inputs.get("prompts") if type(inputs) is dict else None
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return None
    rest = {k: v for k, v in inputs.items() if k != "prompts" and v not in _EMPTY}
    return [Message(role="user", content=t) for t in texts], ({"rest": rest} if rest else {})


def lc_generations(outputs: Any) -> tuple[list[Message], Fields] | None:
    """An LLMResult's generations as assistant messages (a chat generation's message, else its text),
    with the result's other fields (`llm_output`, ...) and each generation's unread fields."""
    outputs = maybe_json(outputs)
    if type(outputs) is not dict or not isinstance(outputs.get("generations"), list):
        return None
    messages: list[Message] = []
    fields: list[Fields] = []
    for batch in outputs["generations"]:
        for gen in batch if isinstance(batch, list) else [batch]:
            msg, extra = _generation(gen)
            if extra:
                fields.append({"message": len(messages), **extra})
            messages.append(msg)
    kept: Fields = {}
    rest = {k: v for k, v in outputs.items() if k != "generations" and v not in _EMPTY
            and (k, v) != ("type", "LLMResult")}
    if rest:
        kept["rest"] = rest
    if fields:
        kept["message_fields"] = fields
    return messages, kept


def _generation(gen: Any) -> tuple[Message, Fields]:
    if type(gen) is not dict:
        return Message(role="assistant", content=as_text(gen)), {}
    """One generation: its chat message, else its text; what else it holds under `generation`."""
    found = to_lc_message(gen.get("message"), "assistant")
    msg, extra = found if found else (Message(role="assistant", content=as_text(gen.get("text"))), {})
    rest = {k: v for k, v in gen.items() if k not in ("text", "message", "generation_info", "type") and v not in _EMPTY}
    if found is None and gen.get("message") not in _EMPTY:
        rest["message"] = gen["message"]  # not a message LangChain writes: data
    info = as_dict(gen.get("generation_info"))
    msg.finish_reason = str(info.get("finish_reason") or "") or msg.finish_reason
    text = gen.get("text")
    if found and isinstance(text, str) and text.strip() and text not in msg.content:
        rest["text"] = text  # parts joined otherwise than the message's text is rendered
    if {k: v for k, v in info.items() if k != "finish_reason" and v not in _EMPTY}:
        rest["generation_info"] = info
    if rest:
        extra["generation"] = rest
    return msg, extra


def usage(outputs: Any) -> tuple[int | None, int | None]:
    """Input and output tokens an LLMResult reports: `llm_output.token_usage` (OpenAI's names) or
    `llm_output.usage` (Anthropic's), else the sum of its messages' `usage_metadata`."""
    outputs = as_dict(maybe_json(outputs))
    llm = as_dict(outputs.get("llm_output"))
    for block in (as_dict(llm.get("token_usage")), as_dict(llm.get("usage"))):
        tokens_in = as_int(first(block, "prompt_tokens", "input_tokens"))
        tokens_out = as_int(first(block, "completion_tokens", "output_tokens"))
        if tokens_in is not None or tokens_out is not None:
            return tokens_in, tokens_out
    ins, outs = [], []
    for batch in as_list(outputs.get("generations")):
        for gen in batch if isinstance(batch, list) else [batch]:
            meta = as_dict(as_dict(as_dict(as_dict(gen).get("message")).get("kwargs")).get("usage_metadata"))
            ins.append(as_int(meta.get("input_tokens")))
            outs.append(as_int(meta.get("output_tokens")))
    total_in = sum(n for n in ins if n is not None) if any(n is not None for n in ins) else None
    total_out = sum(n for n in outs if n is not None) if any(n is not None for n in outs) else None
    return total_in, total_out


def model_name(outputs: Any) -> str:
    """The model an LLMResult names (`llm_output.model_name`, else its first message's metadata)."""
    outputs = as_dict(maybe_json(outputs))
    found = first(as_dict(outputs.get("llm_output")), "model_name", "model")
    if found:
        return str(found)
    for batch in as_list(outputs.get("generations")):
        for gen in batch if isinstance(batch, list) else [batch]:
            meta = as_dict(as_dict(as_dict(as_dict(gen).get("message")).get("kwargs")).get("response_metadata"))
            if first(meta, "model_name", "model"):
                return str(first(meta, "model_name", "model"))
    return ""
