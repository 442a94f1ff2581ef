"""What every Messages API backend shares, without the SDK: the request body a `ModelRequest` becomes
and the final message built from the stream's events (wire-format dicts)."""

from __future__ import annotations

import json
from typing import Any

from agentbook.models.base import ModelRequest, ModelResponse, Usage
from agentbook.models.errors import ConnectionFailed


def request_params(name: str, request: ModelRequest, extra_body: dict[str, Any]) -> dict[str, Any]:
    """The Messages API body (before `stream` and the extra body fields are merged in)."""
    params: dict[str, Any] = {"model": name, "max_tokens": request.max_tokens, "messages": request.messages}
    if request.system:
        params["system"] = request.system
    if request.tools:
        params["tools"] = request.tools
    if request.thinking:
        params["thinking"] = request.thinking
    if request.tool_choice:
        params["tool_choice"] = request.tool_choice
    if request.metadata.get("user_id"):  # the one metadata field the API takes; the rest stays local
        params["metadata"] = {"user_id": str(request.metadata["user_id"])}
    if extra_body:
        params["extra_body"] = dict(extra_body)
    return params


class Accumulator:
    """Builds the final message from the raw stream events (wire-format dicts)."""

    def __init__(self) -> None:
        self.id, self.model, self.stop_reason = "", "", None
        self.usage: dict[str, Any] = {}
        self.blocks: list[dict[str, Any]] = []
        self._json: dict[int, list[str]] = {}
        self.stopped = False

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "content_block_delta":  # most events are deltas: tested first
            self._delta(event["index"], event["delta"])
        elif kind == "message_start":
            message = event["message"]
            self.id, self.model = message.get("id", ""), message.get("model", "")
            self.usage = {k: v for k, v in (message.get("usage") or {}).items() if v is not None}
        elif kind == "content_block_start":
            self.blocks.append({k: v for k, v in event["content_block"].items() if v is not None})
        elif kind == "content_block_stop" and event.get("index") in self._json:
            raw = "".join(self._json.pop(event["index"]))
            self.blocks[event["index"]]["input"] = json.loads(raw) if raw else {}
        elif kind == "message_delta":
            self.stop_reason = event.get("delta", {}).get("stop_reason")
            # usage on message_delta is cumulative: it overwrites what message_start said
            self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.stopped = True

    def _delta(self, index: int, delta: dict[str, Any]) -> None:
        block = self.blocks[index]
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
        elif kind == "input_json_delta":
            self._json.setdefault(index, []).append(delta["partial_json"])
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
        elif kind == "signature_delta":
            block["signature"] = delta["signature"]
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta["citation"])

    def response(self, spec: str, request_id: str | None) -> ModelResponse:
        if not self.stopped:
            raise ConnectionFailed(f"{spec}: the stream ended before message_stop")
        return ModelResponse(id=self.id, model=self.model, content=self.blocks, stop_reason=self.stop_reason,
                             usage=usage_from_dict(self.usage), request_id=request_id)


def usage_from_dict(usage: dict[str, Any]) -> Usage:
    split = usage.get("cache_creation") or {}
    return Usage(
        input_tokens=usage.get("input_tokens") or 0,
        output_tokens=usage.get("output_tokens") or 0,
        cache_creation_input_tokens=usage.get("cache_creation_input_tokens") or 0,
        cache_read_input_tokens=usage.get("cache_read_input_tokens") or 0,
        cache_creation_5m=split.get("ephemeral_5m_input_tokens") or 0,
        cache_creation_1h=split.get("ephemeral_1h_input_tokens") or 0,
    )
