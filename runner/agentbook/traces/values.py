"""Small normalisers shared by the readers: ids, timestamps, JSON-in-strings, chat messages.

Every trace format spells the same things differently (hex, base64 or integer ids; nanoseconds,
ISO strings or seconds; OpenAI, Anthropic, OTel GenAI or Vercel message shapes). These functions turn
each spelling into one, and never raise on odd input: what they cannot read they keep as text.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import datetime
from typing import Any

from .model import Message, ToolCall

_HEX = re.compile(r"^(0x)?[0-9a-fA-F]+$")
_LOWER_HEX = "0123456789abcdef"
_JSON = json.JSONDecoder()
_TO_JSON = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(value, ensure_ascii=False), made once
MAX_NS = 10**19  # about the year 2286: anything later is not a timestamp


def norm_id(value: Any, width: int = 16) -> str:
    """An id as lower-case hex when it is hex, base64 or an integer; other strings unchanged."""
    if value is None or value == "":
        return ""
    if type(value) is str and len(value) == width and not value.strip(_LOWER_HEX):  # already canonical
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format(value, "x").zfill(width) if value >= 0 else str(value)
    text = str(value).strip()
    if _HEX.match(text) and (len(text) in (16, 32) or text.startswith("0x")):
        return text.removeprefix("0x").lower().zfill(width)
    if text.isdigit() and 12 < len(text) <= 40:
        return format(int(text), "x").zfill(width)
    if len(text) in (12, 24) and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", text):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return text
        if len(raw) in (8, 16):
            return raw.hex()
    return text


def to_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch from ns/us/ms/s numbers, decimal strings or ISO 8601."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if type(value) is str and 18 <= len(value) <= 19 and value.isdigit():  # OTLP's nanoseconds (the common case)
        return int(value) if int(value) < MAX_NS else None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40:
            return None
        if re.fullmatch(r"\d+", text):
            value = int(text)
        elif re.fullmatch(r"\d+\.\d*", text):
            value = float(text)
        else:
            return _iso_ns(text)
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number) or number <= 0 or number >= MAX_NS:
            return None
        scale = 1 if number > 1e17 else 1_000 if number > 1e14 else 1_000_000 if number > 1e11 else 1_000_000_000
        return int(value) * scale if isinstance(value, int) else int(number * scale)
    return None


def _iso_ns(text: str) -> int | None:
    match = re.match(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$", text)
    if not match:
        return None
    base, frac, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    try:
        seconds = datetime.fromisoformat(base.replace(" ", "T") + zone).timestamp()
    except ValueError:
        return None
    nanos = int((frac or ".0")[1:].ljust(9, "0")[:9])
    total = int(seconds) * 1_000_000_000 + nanos
    return total if 0 < total < MAX_NS else None


def maybe_json(value: Any) -> Any:
    """Parse a string that holds a JSON object or array; anything else comes back unchanged."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:  # the decoder itself, not json.loads: its checks and regexes cost more than a small value
                parsed, end = _JSON.raw_decode(text)
            except (ValueError, RecursionError):  # nested past what Python parses: a trace's text, kept as text
                return value
            return parsed if end == len(text) else value
    return value


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _TO_JSON(value)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def as_float(value: Any) -> float | None:
    """A finite float, or None (NaN and infinities are as good as missing)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def first(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value not in (None, ""):
            return value
    return None


# --- chat messages in the shapes found in the wild ------------------------------------------------

def _tool_call(obj: dict[str, Any]) -> ToolCall:
    fn = as_dict(obj.get("function"))
    name = first(obj, "name", "toolName", "function_name", "tool.name") or fn.get("name") or ""
    args = first(obj, "arguments", "args", "input", "tool.args")
    if args is None:
        args = fn.get("arguments")
    call_id = first(obj, "id", "toolCallId", "tool_call_id") or ""
    return ToolCall(name=str(name), arguments=as_text(args), id=str(call_id))


TEXT_PARTS = {"text", "input_text", "output_text", "summary_text"}  # parts whose text is all they say


def blocks_text(value: Any) -> str:
    """A result that is a list of bare text blocks (`[{"text": ...}]`, as Bedrock Converse and Strands
    write one; or that list as JSON text) as its text; anything else as `as_text` shows it, verbatim."""
    blocks = maybe_json(value) if isinstance(value, str) and value.startswith('[{"text"') else value
    if isinstance(blocks, list) and blocks and all(isinstance(b, dict) and b.keys() == {"text"} for b in blocks):
        return "\n".join(as_text(b["text"]) for b in blocks)
    return as_text(value)


def _converse_block(msg: Message, part: dict[str, Any], texts: list[str]) -> bool:
    """A Bedrock Converse content block (`{"toolUse": {...}}`, `{"toolResult": {...}}`), as Strands records
    them: read when it holds only what is read here, else False (the caller keeps it whole)."""
    if part.keys() == {"toolUse"} and isinstance(part["toolUse"], dict) and part["toolUse"].keys() <= {
            "toolUseId", "name", "input"}:
        use = part["toolUse"]
        msg.tool_calls.append(ToolCall(name=as_text(use.get("name")), arguments=as_text(use.get("input")),
                                       id=as_text(use.get("toolUseId"))))
        return True
    if part.keys() == {"toolResult"} and isinstance(part["toolResult"], dict) and part["toolResult"].keys() <= {
            "toolUseId", "status", "content"}:
        result = part["toolResult"]
        msg.tool_call_id = msg.tool_call_id or as_text(result.get("toolUseId"))
        status = as_text(result.get("status"))
        texts.append(("" if status in ("", "success") else f"[{status}] ") + blocks_text(result.get("content")))
        return True
    return False


def _add_part(msg: Message, part: Any, texts: list[str]) -> None:
    """One content part: text, tool call, tool result, reasoning; unknown parts kept as JSON."""
    if isinstance(part, str):
        texts.append(part)
        return
    if not isinstance(part, dict):
        texts.append(as_text(part))
        return
    kind = str(part.get("type", "text"))
    if "type" not in part and _converse_block(msg, part, texts):
        return
    if kind in ("tool_call", "tool_use", "tool-call", "function_call"):
        msg.tool_calls.append(_tool_call(part))
    elif kind in ("tool_call_response", "tool_result", "tool-result", "function_call_output"):
        msg.tool_call_id = msg.tool_call_id or str(first(part, "id", "tool_use_id", "toolCallId", "call_id") or "")
        texts.append(blocks_text(first(part, "response", "result", "content", "output")))
    elif kind in ("reasoning", "thinking"):
        msg.reasoning += as_text(first(part, "content", "thinking", "text"))
    elif ("text" in part or "content" in part) and (kind in TEXT_PARTS or part.keys() <= {"text", "content"}):
        texts.append(as_text(first(part, "text", "content")))
    else:  # a part of a kind not read here (a provider's own, with fields of its own): whole, as JSON
        texts.append(as_text(part))


def to_message(obj: Any, default_role: str = "user") -> Message:
    """One message from OTel GenAI parts, OpenAI, Anthropic or Vercel AI SDK shapes."""
    if not isinstance(obj, dict):
        return Message(role=default_role, content=as_text(obj))
    get = obj.get
    msg = Message(str(get("role") or default_role), "", [], str(first(obj, "tool_call_id", "toolCallId") or ""),
                  str(get("name") or ""), "", str(get("finish_reason") or ""))
    texts: list[str] = []
    for key in ("parts", "content"):
        value = get(key)
        if isinstance(value, list):
            for part in value:
                if type(part) is dict and part.get("type") == "text" and type(part.get("content")) is str \
                        and "text" not in part:
                    texts.append(part["content"])  # the OTel GenAI text part (most parts): no call needed
                else:
                    _add_part(msg, part, texts)
        elif value is not None:
            texts.append(as_text(value))
    for call in as_list(obj.get("tool_calls")):
        if isinstance(call, dict):
            msg.tool_calls.append(_tool_call(call))
    if obj.get("reasoning_content"):
        msg.reasoning += as_text(obj["reasoning_content"])
    msg.content = "\n".join(t for t in texts if t)
    return msg


def is_message_list(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(m, dict) and "role" in m for m in value))


def to_messages(value: Any, default_role: str = "user") -> list[Message] | None:
    """A message list, or None when `value` does not look like one (then it is plain input)."""
    value = maybe_json(value)
    if is_message_list(value):
        return [to_message(m, default_role) for m in value]
    if isinstance(value, dict) and "role" in value and ("content" in value or "parts" in value):
        return [to_message(value, default_role)]
    if isinstance(value, dict) and is_message_list(value.get("messages")):
        out = []
        if value.get("system"):
            out.append(Message(role="system", content=as_text(value["system"])))
        return out + [to_message(m, default_role) for m in value["messages"]]
    return None


def chat_messages(value: Any, role: str) -> list[Message] | None:
    """The messages of a request or response body: `messages`/`input`/`output` lists, an OpenAI chat
    completion (`choices`), a LangChain LLMResult (`generations`), or a bare message list; None when
    there are none (then the body is plain input or output)."""
    value = maybe_json(value)
    if isinstance(value, dict):
        for key in ("messages", "input", "output"):
            found = to_messages(value.get(key), role)
            if found:
                return found
        choices = value.get("choices")
        if isinstance(choices, list) and choices:  # an OpenAI chat completion as the run's output
            out = []
            for choice in choices:
                msg = to_messages(as_dict(choice).get("message"), role) or []
                for m in msg:
                    m.finish_reason = str(as_dict(choice).get("finish_reason") or "")
                out += msg
            return out or None
        generations = value.get("generations")
        if isinstance(generations, list):  # LangChain LLMResult: [[{text, message}]]
            out = []
            for gen in (g for batch in generations for g in (batch if isinstance(batch, list) else [batch])):
                message = as_dict(gen).get("message")
                kwargs = as_dict(as_dict(message).get("kwargs")) or as_dict(message)
                content = kwargs.get("content", as_dict(gen).get("text"))
                out.append(Message(role=role, content=as_text(content),
                                   finish_reason=str(as_dict(as_dict(gen).get("generation_info")).get("finish_reason")
                                                     or "")))
            return out or None
    return to_messages(value, role)



_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Remove control characters (escape sequences, NUL, CR) but keep tabs and newlines."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub("", text.replace("\r\n", "\n"))
