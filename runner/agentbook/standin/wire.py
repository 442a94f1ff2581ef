"""The Messages API wire shapes the stand-in speaks: messages, SSE events, error bodies, checks.

Pure functions, no I/O: the server decides when to send what.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from agentbook.standin.tokens import block_tokens, count_text

ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
    429: "rate_limit_error", 500: "api_error", 503: "api_error", 504: "timeout_error",
    529: "overloaded_error",
}
ERROR_MESSAGES = {
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "overloaded_error": "Overloaded",
    "api_error": "Internal server error",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API",
    "timeout_error": "Request timed out",
}
# Status an error type maps to when it is not sent mid-stream (non-streaming requests, batches).
STATUS_FOR_TYPE = {v: k for k, v in ERROR_TYPES.items() if k != 503}

_SIGNING_SALT = b"agentbook-standin-thinking"


def error_type_for(status: int) -> str:
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(error_type: str, message: str | None, request_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "error": {
        "type": error_type, "message": message or ERROR_MESSAGES.get(error_type, error_type)}}
    if request_id:
        body["request_id"] = request_id
    return body


def thinking_signature(thinking: str) -> str:
    """What the stand-in signs a thinking block with; it checks the signature when the block comes back."""
    return base64.b64encode(hashlib.sha256(_SIGNING_SALT + thinking.encode()).digest()).decode()


def sign_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for block in blocks:
        if block["type"] == "thinking":
            block = {**block, "signature": thinking_signature(block["thinking"])}
        out.append(block)
    return out


def output_tokens(blocks: list[dict[str, Any]]) -> int:
    return max(1, sum(block_tokens(b) for b in blocks))


def build_message(msg_id: str, model: str, blocks: list[dict[str, Any]], stop_reason: str,
                  usage: dict[str, Any], *, service_tier: str = "standard") -> dict[str, Any]:
    content = sign_blocks(blocks)
    return {
        "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {**usage, "output_tokens": output_tokens(blocks), "service_tier": service_tier},
    }


def within_max_tokens(blocks: list[dict[str, Any]], max_tokens: int) -> tuple[list[dict[str, Any]], bool]:
    """The blocks that fit in `max_tokens` output tokens (the last text cut short), and whether any were cut."""
    out: list[dict[str, Any]] = []
    left = max_tokens
    for block in blocks:
        need = block_tokens(block)
        if need <= left:
            out.append(block)
            left -= need
            continue
        kind = block["type"]
        if kind in ("text", "thinking") and left > 0:
            text = block[kind][: left * 4]
            while count_text(text) > left:
                text = text[:-1]
            out.append({**block, kind: text})
        return out, True  # a tool_use that does not fit is not sent at all
    return out, False


def _chunks(text: str, size: int) -> list[str]:
    return [text[i: i + size] for i in range(0, len(text), size)] or [""]


def _split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return _chunks(text, size)


def sse_events(message: dict[str, Any], *, chunk_chars: int = 24, json_chunks: int = 3
               ) -> list[tuple[str, dict[str, Any]]]:
    """The exact event sequence of a streamed message: start, ping, blocks with deltas, delta, stop."""
    usage = message["usage"]
    start_usage = {k: v for k, v in usage.items() if k != "service_tier"}
    start_usage["output_tokens"] = 1
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start}),
                                                ("ping", {"type": "ping"})]
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block, chunk_chars, json_chunks))
    delta_usage = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                         "cache_read_input_tokens", "output_tokens")}
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                     "usage": delta_usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _block_events(index: int, block: dict[str, Any], chunk_chars: int, json_chunks: int
                  ) -> list[tuple[str, dict[str, Any]]]:
    kind = block["type"]
    deltas: list[dict[str, Any]]
    if kind == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": c} for c in _chunks(block["text"], chunk_chars)]
    elif kind == "thinking":
        opening = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": c} for c in _chunks(block["thinking"], chunk_chars)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "tool_use":
        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = json.dumps(block["input"], ensure_ascii=False)
        # the API opens with an empty partial_json, then sends the object in pieces
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
        deltas += [{"type": "input_json_delta", "partial_json": c} for c in _split(raw, json_chunks)]
    else:
        raise ValueError(f"unsupported block type {kind!r}")
    out: list[tuple[str, dict[str, Any]]] = [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": opening})]
    out += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
    out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return out


def encode_sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def check_request(body: Any) -> str | None:
    """The invalid_request_error message the real API would give this body, or None if it is fine."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    return _check_tool_pairs(messages) or _check_thinking(messages)


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _check_tool_pairs(messages: list[dict[str, Any]]) -> str | None:
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        ids = [b.get("id") for b in _blocks(message) if b.get("type") == "tool_use"]
        if not ids or i + 1 >= len(messages):
            continue
        answered = {b.get("tool_use_id") for b in _blocks(messages[i + 1]) if b.get("type") == "tool_result"}
        missing = [x for x in ids if x not in answered]
        if missing:
            return (f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(str(m) for m in missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message.")
    return None


def _check_thinking(messages: list[dict[str, Any]]) -> str | None:
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        for j, block in enumerate(_blocks(message)):
            if block.get("type") == "thinking" and \
                    block.get("signature") != thinking_signature(str(block.get("thinking", ""))):
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
    return None
