"""The one backend: the real `anthropic` SDK (AsyncAnthropic, streaming every turn) pointed at the
Anthropic API, a compatible server, or the in-process stand-in.

Every HTTP attempt, the SDK's own retries included, passes the process-wide governor first (an httpx
request hook) and reports 429/529 to it (a response hook), so one session's rate limit slows all.
"""

from __future__ import annotations

import inspect
import json
import ssl
from functools import cache
from typing import Any

import anthropic
import httpx2

from agentbook.models.base import ModelRequest, ModelResponse, StreamCallback, Usage
from agentbook.models.errors import AuthError, ConnectionFailed, from_sdk, retry_after_seconds
from agentbook.models.governor import GOVERNOR
from agentbook.models.spec import BackendSpec

LIMIT_STATUSES = frozenset({429, 529})


async def _gate(request: httpx2.Request) -> None:
    await GOVERNOR.wait()


async def _observe(response: httpx2.Response) -> None:
    if response.status_code in LIMIT_STATUSES:
        GOVERNOR.limited(retry_after_seconds(response.headers))


@cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client: loading the CA bundle costs ~30 ms, once per process is enough."""
    return ssl.create_default_context()


def make_client(spec: BackendSpec, base_url: str | None) -> anthropic.AsyncAnthropic:
    """An AsyncAnthropic configured for the spec's auth style, API version and retries."""
    key = spec.api_key()
    if spec.kind == "anthropic" and not key:
        raise AuthError(f"{spec.spec}: no API key", hint="set ANTHROPIC_API_KEY (or key_env=<VAR> in the spec)")
    headers: dict[str, Any] = {}
    if spec.auth == "x-api-key":
        headers = {"x-api-key": key, "Authorization": anthropic.omit}
    elif spec.auth == "none":
        headers = {"Authorization": anthropic.omit}
    if spec.version:
        headers["anthropic-version"] = spec.version
    http = anthropic.DefaultAsyncHttpxClient(event_hooks={"request": [_gate], "response": [_observe]},
                                             verify=_tls_context())
    return anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=spec.retries,
                                    timeout=spec.timeout, default_headers=headers, http_client=http)


class MessagesBackend:
    """A `Model` (models/base.py) that streams each request through the Messages API."""

    def __init__(self, spec: BackendSpec, name: str, base_url: str | None) -> None:
        self.spec = spec.spec
        self.name = name
        self.backend = spec
        self.base_url = base_url
        self._client = make_client(spec, base_url)

    def params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.name, "max_tokens": request.max_tokens,
                                  "messages": request.messages}
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
        if self.backend.extra_body:
            params["extra_body"] = dict(self.backend.extra_body)
        return params

    async def complete(self, request: ModelRequest, *, on_event: StreamCallback | None = None
                       ) -> ModelResponse:
        message = _Accumulator()
        try:
            stream = await self._client.messages.create(**self.params(request), stream=True)
            request_id = stream.response.headers.get("request-id")
            async with stream:
                async for event in stream:
                    message.add(event)
                    if on_event is not None:
                        result = on_event(event.model_dump(mode="json", exclude_none=True))
                        if inspect.isawaitable(result):
                            await result
        except anthropic.AnthropicError as err:
            typed = from_sdk(err, self.spec)
            if typed.error_type in ("overloaded_error", "rate_limit_error") and typed.status == 200:
                GOVERNOR.limited(None)  # mid-stream limits never reach the response hook
            raise typed from err
        except httpx2.HTTPError as err:  # the body broke off after the headers: outside the SDK's retries
            raise ConnectionFailed(f"{self.spec}: connection broke mid-response: {err}") from err
        GOVERNOR.ok()
        return message.response(self.spec, request_id)

    async def count_tokens(self, request: ModelRequest) -> int:
        """Input tokens the request would use (`POST /v1/messages/count_tokens`); not part of `Model`,
        since not every compatible server has the endpoint."""
        params = {k: v for k, v in self.params(request).items() if k not in ("max_tokens", "metadata")}
        try:
            counted = await self._client.messages.count_tokens(**params)
        except anthropic.AnthropicError as err:
            raise from_sdk(err, self.spec) from err
        return int(counted.input_tokens)

    async def aclose(self) -> None:
        await self._client.close()


class _Accumulator:
    """Builds the final message from raw stream events as plain dicts (cheaper than the SDK's
    pydantic snapshot per event, which matters at 25 concurrent sessions)."""

    def __init__(self) -> None:
        self.id, self.model, self.stop_reason = "", "", None
        self.usage: dict[str, Any] = {}
        self.blocks: list[dict[str, Any]] = []
        self._json: dict[int, list[str]] = {}
        self.stopped = False

    def add(self, event: Any) -> None:
        kind = event.type
        if kind == "message_start":
            self.id, self.model = event.message.id, event.message.model
            self.usage = event.message.usage.model_dump(exclude_none=True)
        elif kind == "content_block_start":
            self.blocks.append(event.content_block.model_dump(mode="json", exclude_none=True))
        elif kind == "content_block_delta":
            self._delta(event.index, event.delta)
        elif kind == "content_block_stop" and event.index in self._json:
            raw = "".join(self._json.pop(event.index))
            self.blocks[event.index]["input"] = json.loads(raw) if raw else {}
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason
            # usage on message_delta is cumulative: it overwrites what message_start said
            self.usage.update({k: v for k, v in event.usage.model_dump().items() if v is not None})
        elif kind == "message_stop":
            self.stopped = True

    def _delta(self, index: int, delta: Any) -> None:
        block = self.blocks[index]
        kind = delta.type
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta.text
        elif kind == "input_json_delta":
            self._json.setdefault(index, []).append(delta.partial_json)
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.thinking
        elif kind == "signature_delta":
            block["signature"] = delta.signature
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta.citation.model_dump(mode="json", exclude_none=True))

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


def usage_from_sdk(usage: Any) -> Usage:
    split = getattr(usage, "cache_creation", None)
    return Usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
        cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        cache_creation_5m=(split.ephemeral_5m_input_tokens or 0) if split else 0,
        cache_creation_1h=(split.ephemeral_1h_input_tokens or 0) if split else 0,
    )
