"""Google ADK (Agent Development Kit) span attributes -> span fields.

ADK names its spans `invocation`, `invoke_agent NAME`, `call_llm` and `execute_tool NAME` and writes the
model call's request and response as JSON in `gcp.vertex.agent.llm_request` (`config.system_instruction`,
`contents[]` of `{role: user|model, parts}`) and `gcp.vertex.agent.llm_response` (`content.parts`,
`finish_reason`, `usage_metadata`, `error_code` / `error_message`), a tool's in
`gcp.vertex.agent.tool_call_args` and `gcp.vertex.agent.tool_response`, beside `gen_ai.*` attributes
(genai.py reads those). A part is `text` (a `thought` one is reasoning), `function_call`
(`{id, name, args}`) or `function_response` (`{id, name, response}`); the google-genai SDK writes
these in snake_case, its JSON dumps in camelCase, so both are read. What is not read here stays an
attribute (the request's other config, a part of another kind as its JSON).
"""

from __future__ import annotations

import json
from typing import Any

from .model import Message, Span, ToolCall
from .values import as_dict, as_int, as_list, as_text, maybe_json

PREFIX = "gcp.vertex.agent."
REQUEST, RESPONSE = PREFIX + "llm_request", PREFIX + "llm_response"
TOOL_ARGS, TOOL_RESPONSE = PREFIX + "tool_call_args", PREFIX + "tool_response"
ROLES = {"model": "assistant", "user": "user", "system": "system", "tool": "tool", "function": "tool"}


def has_adk(attrs: dict[str, Any]) -> bool:
    return any(key in attrs for key in (REQUEST, RESPONSE, TOOL_ARGS, TOOL_RESPONSE))


def apply_adk(span: Span) -> None:
    a = span.attributes
    request = as_dict(maybe_json(a.get(REQUEST)))
    response = as_dict(maybe_json(a.get(RESPONSE)))
    if request or response:
        span.kind = "llm" if span.kind in ("other", "chain") else span.kind
        _request(span, a, request)
        _response(span, a, response)
    if TOOL_ARGS in a or TOOL_RESPONSE in a:
        span.kind = "tool" if span.kind in ("other", "chain") else span.kind
        args = a.pop(TOOL_ARGS, None)
        span.tool_args = span.tool_args if args is None else as_text(args)
        result = maybe_json(a.pop(TOOL_RESPONSE, None))
        if result is not None:
            reply = _function_response(as_dict(result)) or as_dict(result)
            span.tool_call_id = span.tool_call_id or str(reply.get("id") or "")
            span.tool_name = span.tool_name or str(reply.get("name") or "")
            span.tool_result = as_text(reply.get("response", result))
            rest = {k: v for k, v in reply.items() if k not in ("id", "name", "response")}
            if rest:
                a[TOOL_RESPONSE + ".rest"] = rest


def _function_response(event: dict[str, Any]) -> dict[str, Any]:
    """The function response inside an ADK event (`content.parts[].function_response`), as some ADK
    versions write the whole event; {} when there is none or the value is the response itself."""
    if "response" in event:
        return {}
    for part in as_list(as_dict(event.get("content")).get("parts")):
        found = as_dict(_get(as_dict(part), "function_response"))
        if found:
            return found
    return {}


def _get(d: dict[str, Any], snake: str) -> Any:
    """`d[snake]`, or its camelCase spelling."""
    if snake in d:
        return d[snake]
    head, *rest = snake.split("_")
    return d.get(head + "".join(w.title() for w in rest))


def _request(span: Span, a: dict[str, Any], request: dict[str, Any]) -> None:
    if not request:
        return
    a.pop(REQUEST)
    config = dict(as_dict(request.get("config")))
    system = config.pop("system_instruction", None) or config.pop("systemInstruction", None)
    if system is not None:
        span.input_messages.append(Message(role="system", content=_content_text(system)))
    for content in as_list(request.get("contents")):
        span.input_messages += _messages(content)
    span.model = span.model or str(request.get("model") or "")
    rest = {k: v for k, v in request.items() if k not in ("config", "contents", "model")}
    if config:
        rest["config"] = config
    if rest:
        a[REQUEST + ".rest"] = rest


def _response(span: Span, a: dict[str, Any], response: dict[str, Any]) -> None:
    if not response:
        return
    a.pop(RESPONSE)
    content = response.get("content")
    finish = str(_get(response, "finish_reason") or "")
    if content is not None:
        replies = _messages(content, "assistant") or [Message(role="assistant")]
        replies[-1].finish_reason = replies[-1].finish_reason or finish
        span.output_messages += replies
    usage = as_dict(_get(response, "usage_metadata"))
    if span.input_tokens is None:
        span.input_tokens = as_int(_get(usage, "prompt_token_count"))
    if span.output_tokens is None:
        span.output_tokens = as_int(_get(usage, "candidates_token_count"))
    error = _get(response, "error_message") or _get(response, "error_code")
    if error:
        span.status = "error"
        span.status_message = span.status_message or as_text(error)
    read = {"content", "finish_reason", "finishReason"}
    rest = {k: v for k, v in response.items() if k not in read}
    if rest:  # usage, model version, error fields: kept as they came
        a[RESPONSE + ".rest"] = rest


def _content_text(value: Any) -> str:
    """A system instruction: text, or a Content / list of parts whose texts are joined."""
    parsed = maybe_json(value)
    if isinstance(parsed, dict):
        parsed = parsed.get("parts", parsed)
    if isinstance(parsed, list):
        return "\n".join(as_text(p.get("text")) if isinstance(p, dict) and "text" in p else as_text(p) for p in parsed)
    return as_text(parsed)


def _messages(content: Any, default_role: str = "user") -> list[Message]:
    """One Content (`{role, parts}`) as messages: its text, reasoning and calls as one message, each
    function response a tool message of its own."""
    c = as_dict(content)
    role = ROLES.get(str(c.get("role") or ""), str(c.get("role") or default_role))
    message = Message(role=role)
    out = [message]
    texts: list[str] = []
    for part in as_list(c.get("parts")) if c else [content]:
        p = as_dict(part)
        call = as_dict(_get(p, "function_call"))
        answer = as_dict(_get(p, "function_response"))
        if call:
            message.tool_calls.append(ToolCall(name=str(call.get("name") or ""), id=str(call.get("id") or ""),
                                               arguments=as_text(call.get("args"))))
        elif answer:
            out.append(Message(role="tool", tool_call_id=str(answer.get("id") or ""), name=str(answer.get("name") or ""),
                               content=as_text(answer.get("response", answer))))
        elif "text" in p and p.get("thought"):
            message.reasoning = "\n".join(x for x in (message.reasoning, as_text(p["text"])) if x)
        elif "text" in p:
            texts.append(as_text(p["text"]))
        else:  # inline data, executable code, ...: shown as the part's own JSON
            texts.append(json.dumps(part, ensure_ascii=False) if not isinstance(part, str) else part)
    message.content = "\n".join(texts)
    return [m for m in out if m is not message or m.content or m.tool_calls or m.reasoning or len(out) == 1]
