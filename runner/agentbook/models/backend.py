"""The one backend: the real `anthropic` SDK (AsyncAnthropic, streaming every turn) pointed at the
Anthropic API, a compatible server, or the in-process stand-in.

Every HTTP attempt, the SDK's own retries included, passes the process-wide governor first (an httpx
request hook) and reports 429/529 to it (a response hook), so one session's rate limit slows all.
"""

from __future__ import annotations

import inspect
from typing import Any

import anthropic
import httpx2

from agentbook.models.base import ModelRequest, ModelResponse, StreamCallback, Usage
from agentbook.models.errors import AuthError, ConnectionFailed, from_sdk
from agentbook.models.governor import GOVERNOR
from agentbook.models.spec import BackendSpec

RAW_EVENTS = frozenset({"message_start", "content_block_start", "content_block_delta", "content_block_stop",
                        "message_delta", "message_stop"})
LIMIT_STATUSES = frozenset({429, 529})


async def _gate(request: httpx2.Request) -> None:
    await GOVERNOR.wait()


async def _observe(response: httpx2.Response) -> None:
    if response.status_code in LIMIT_STATUSES:
        value = response.headers.get("retry-after-ms")
        seconds = float(value) / 1000 if value else None
        if seconds is None and response.headers.get("retry-after"):
            try:
                seconds = float(response.headers["retry-after"])
            except ValueError:
                seconds = None
        GOVERNOR.limited(seconds)


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
    http = anthropic.DefaultAsyncHttpxClient(event_hooks={"request": [_gate], "response": [_observe]})
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
        if self.backend.extra_body:
            params["extra_body"] = dict(self.backend.extra_body)
        return params

    async def complete(self, request: ModelRequest, *, on_event: StreamCallback | None = None
                       ) -> ModelResponse:
        try:
            async with self._client.messages.stream(**self.params(request)) as stream:
                async for event in stream:
                    if on_event is not None and event.type in RAW_EVENTS:
                        result = on_event(event.model_dump(mode="json", exclude_none=True))
                        if inspect.isawaitable(result):
                            await result
                message = await stream.get_final_message()
                request_id = stream.response.headers.get("request-id")
        except anthropic.AnthropicError as err:
            typed = from_sdk(err, self.spec)
            if typed.error_type in ("overloaded_error", "rate_limit_error") and typed.status == 200:
                GOVERNOR.limited(None)  # mid-stream limits never reach the response hook
            raise typed from err
        except httpx2.HTTPError as err:  # the body broke off after the headers: outside the SDK's retries
            raise ConnectionFailed(f"{self.spec}: connection broke mid-response: {err}") from err
        GOVERNOR.ok()
        return ModelResponse(
            id=message.id, model=message.model,
            content=[block.model_dump(mode="json", exclude_none=True) for block in message.content],
            stop_reason=message.stop_reason, usage=usage_from_sdk(message.usage), request_id=request_id)

    async def aclose(self) -> None:
        await self._client.close()


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
