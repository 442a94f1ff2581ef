"""The one backend: the real `anthropic` SDK (AsyncAnthropic, streaming every turn) pointed at the
Anthropic API, a compatible server, or the in-process stand-in.

Every HTTP attempt, the SDK's own retries included, passes the process-wide governor first (an httpx
request hook) and reports 429/529 to it (a response hook), so one session's rate limit slows all.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import inspect
import json
import ssl
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx2

from agentbook.models import sdk
from agentbook.models.base import ModelRequest, ModelResponse, StreamCallback, Usage
from agentbook.models.errors import AuthError, ConnectionFailed, from_sdk, retry_after_seconds
from agentbook.models.governor import GOVERNOR
from agentbook.models.spec import BackendSpec
from agentbook.models.stream import Accumulator, request_params, usage_from_dict

__all__ = ["MessagesBackend", "make_client", "usage_from_dict", "usage_from_sdk"]

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


@cache
def _settle_heap() -> None:
    """Once per process, when the first client is made (the SDK, pydantic and httpx are loaded by then),
    move every object alive now out of the cyclic collector's sight. They are mostly modules, types and
    schemas that live as long as the process (~160k objects); left in view, each full collection walks
    them all, a ~90 ms pause for every concurrent session at once. Reference counting still frees them.

    First, load what the first request would: httpcore reaches asyncio through anyio, whose backend
    module is imported on first use (15-60 ms of CPU). Paid inside the first request, that import held
    up every session starting with it (the event loop is one thread); paid here, with the SDK's own."""
    with contextlib.suppress(ImportError):  # a private name: if anyio moves it, the first request loads it
        importlib.import_module("anyio._backends._asyncio")
    gc.freeze()


@cache
def _platform() -> Any:
    """The OS name the SDK sends in its `X-Stainless-OS` header, found once per process."""
    return sdk.get_platform()


def make_client(spec: BackendSpec, base_url: str | None) -> sdk.AsyncAnthropic:
    """An AsyncAnthropic configured for the spec's auth style, API version and retries.

    The SDK finds the platform name on each client's first request in a worker thread (it may block
    on some systems); with a client per concurrent stream, a cold wave of 25 sessions made 25 thread
    hops, each waiting for the GIL behind the event loop. The name is the same for every client, so it
    is found once here and handed to each."""
    _settle_heap()
    key = spec.api_key()
    if spec.kind == "anthropic" and not key:
        raise AuthError(f"{spec.spec}: no API key", hint="set ANTHROPIC_API_KEY (or key_env=<VAR> in the spec)")
    headers: dict[str, Any] = {}
    if spec.auth == "x-api-key":
        headers = {"x-api-key": key, "Authorization": sdk.omit}
    elif spec.auth == "none":
        headers = {"Authorization": sdk.omit}
    if spec.version:
        headers["anthropic-version"] = spec.version
    http = sdk.DefaultAsyncHttpxClient(event_hooks={"request": [_gate], "response": [_observe]},
                                             verify=_tls_context())
    client = sdk.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=spec.retries,
                                timeout=spec.timeout, default_headers=headers, http_client=http)
    client._platform = _platform()
    return client


class MessagesBackend:
    """A `Model` (models/base.py) that streams each request through the Messages API."""

    def __init__(self, spec: BackendSpec, name: str, base_url: str | None) -> None:
        self.spec = spec.spec
        self.name = name
        self.backend = spec
        self.base_url = base_url
        # One client per concurrent request, reused most-recent first: httpcore checks every connection
        # of a pool (a syscall or two apiece) when a request starts and when its response closes, so one
        # pool shared by 25 streams cost ~0.7 ms of CPU per turn; a pool per stream holds one connection.
        self._idle: list[sdk.AsyncAnthropic] = [make_client(spec, base_url)]
        self._clients = list(self._idle)

    @contextlib.contextmanager
    def _client(self) -> Iterator[sdk.AsyncAnthropic]:
        client = self._idle.pop() if self._idle else self._new_client()
        try:
            yield client
        finally:
            self._idle.append(client)

    def _new_client(self) -> sdk.AsyncAnthropic:
        client = make_client(self.backend, self.base_url)
        self._clients.append(client)
        return client

    def params(self, request: ModelRequest) -> dict[str, Any]:
        return request_params(self.name, request, self.backend.extra_body)

    async def complete(self, request: ModelRequest, *, on_event: StreamCallback | None = None
                       ) -> ModelResponse:
        message = Accumulator()
        opened = False
        try:
            with self._client() as client:
                stream = await self._open_stream(client, request)
                opened = True
                request_id = stream.response.headers.get("request-id")
                async with stream:
                    async for event in stream:
                        message.add(event)
                        if on_event is not None:
                            result = on_event(event)
                            if inspect.isawaitable(result):
                                await result
        except sdk.AnthropicError as err:
            if opened and isinstance(err, sdk.APIConnectionError) and not isinstance(err, sdk.APITimeoutError):
                # anthropic 2.17 wraps a body that broke off after the headers in APIConnectionError
                # (earlier releases let httpx2's error through, below): either way the SDK did not retry it
                raise ConnectionFailed(f"{self.spec}: connection broke mid-response: {err.__cause__ or err}") from err
            typed = from_sdk(err, self.spec)
            if typed.error_type in ("overloaded_error", "rate_limit_error") and typed.status == 200:
                GOVERNOR.limited(None)  # mid-stream limits never reach the response hook
            raise typed from err
        except httpx2.HTTPError as err:  # the body broke off after the headers: outside the SDK's retries
            raise ConnectionFailed(f"{self.spec}: connection broke mid-response: {err}") from err
        GOVERNOR.ok()
        return message.response(self.spec, request_id)

    async def _open_stream(self, client: sdk.AsyncAnthropic, request: ModelRequest
                           ) -> sdk.AsyncStream[Any]:
        """POST /v1/messages with `stream: true` through the SDK's client (its retries, error types and
        SSE decoding, our governor hooks), but with the body encoded here and the events left as dicts.

        Why not `messages.create`: it deep-copies the whole request (every message of the history) to
        prepare it, and builds a pydantic object per streamed event; at 25 sessions x 20 turns that was
        half of the runner's CPU. The messages are already wire-format dicts, so one `json.dumps` is all
        the preparing they need.
        """
        body = self.params(request)
        body.update(body.pop("extra_body", {}))
        body["stream"] = True
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        # chunk type `object`: the SDK hands each event's parsed JSON over as is (any other type, even
        # `dict[str, Any]`, is walked to "construct" it)
        return await client.post("/v1/messages", cast_to=object, content=content, stream=True,
                                       stream_cls=sdk.AsyncStream[object])

    async def count_tokens(self, request: ModelRequest) -> int:
        """Input tokens the request would use (`POST /v1/messages/count_tokens`); not part of `Model`,
        since not every compatible server has the endpoint."""
        params = {k: v for k, v in self.params(request).items() if k not in ("max_tokens", "metadata")}
        try:
            with self._client() as client:
                counted = await client.messages.count_tokens(**params)
        except sdk.AnthropicError as err:
            raise from_sdk(err, self.spec) from err
        return int(counted.input_tokens)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.close()


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
