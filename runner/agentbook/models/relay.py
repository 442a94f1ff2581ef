"""The keyless relay: the only way a sandboxed agent CLI reaches a model.

The agent gets `ANTHROPIC_BASE_URL` pointing here and a per-relay token as its "API key"; it never
holds the real key. For every Messages API request the relay checks the token and the budget, adds
the real key (from the run's model spec) upstream, streams the answer back unchanged, and on the way
counts tokens and cost and writes the request and response into the run's OTLP trace and transcript.
Once the run's `max_usd` or `max_tokens` is spent it refuses further requests with an error the agent
cannot retry its way around, and says so in `stopped`.

It listens on a unix socket (bound read-only into the agent's sandbox, which has no network) or on
loopback TCP; `relay_forward.py` is the in-sandbox end that turns the socket back into a loopback
HTTP port for the agent.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic

from agentbook.models.base import Usage
from agentbook.models.pricing import cost_usd
from agentbook.models.spec import BackendSpec, parse_spec
from agentbook.models.stream import Accumulator, usage_from_dict
from agentbook.session.trace import TraceRecorder
from agentbook.session.transcript import Transcript
from agentbook.standin.http import HttpRequest, HttpServer, Reply, json_reply

ANTHROPIC_URL = "https://api.anthropic.com"
RELAYED = ("/v1/messages", "/v1/messages/count_tokens")
# request headers the agent may set; everything else (its auth above all) is dropped
PASS_HEADERS = ("content-type", "accept", "anthropic-version", "anthropic-beta", "user-agent", "x-app")
# Tools the client runs itself (custom ones have no type, or "custom"; Anthropic-defined client tools are
# named by these prefixes). Any other type is a server tool (web search, web fetch, code execution, MCP):
# Anthropic would reach the internet for the sandboxed agent, on the runner's key, so it is not relayed.
CLIENT_TOOL_TYPES = ("bash_", "text_editor_", "computer_", "memory_")
SERVER_SIDE_FIELDS = ("mcp_servers", "container")
REPLY_HEADERS = ("request-id", "retry-after", "retry-after-ms", "x-should-retry", "anthropic-ratelimit-requests-remaining")


@dataclass
class RelayLimits:
    """What the relay enforces; `None` means unlimited. Totals include what was spent before it started
    (a resumed run), so the limits are the run's."""

    max_usd: float | None = None
    max_tokens: int | None = None


@dataclass
class RelayCall:
    """One relayed request, as the bench and the tests read it."""

    model: str
    status: int
    input_tokens: int  # all input: uncached + cache writes + cache reads
    output_tokens: int
    cost_usd: float
    seconds: float


@dataclass
class RelayStats:
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    cost_estimated: bool = False
    requests: int = 0
    calls: list[RelayCall] = field(default_factory=list)


def upstream_of(spec: BackendSpec) -> str:
    """Where the spec's requests go: the stand-in's URL for `scripted:`, the compat URL, or the API."""
    if spec.kind == "scripted":
        from agentbook.standin.server import ensure_server

        return ensure_server(spec.script or "").base_url
    if spec.kind == "compat":
        return spec.base_url or ANTHROPIC_URL
    return ANTHROPIC_URL


class Relay(HttpServer):
    """Serve with `await relay.start()` (socket or loopback port), point the agent at it, then read
    `stats` / `stopped`; `await relay.stop()` at the end."""

    def __init__(self, model: str, *, socket_path: Path | None = None, limits: RelayLimits | None = None,
                 trace: TraceRecorder | None = None, transcript: Transcript | None = None,
                 spent: tuple[Usage, float] | None = None) -> None:
        super().__init__("127.0.0.1", 0)
        self.spec = parse_spec(model)
        self.socket_path = socket_path
        self.limits = limits or RelayLimits()
        self.trace, self.transcript = trace, transcript
        self.token = "sk-agentbook-relay-" + secrets.token_hex(16)  # the agent's "key": good for this relay only
        self.stats = RelayStats()
        self._before = spent or (Usage(), 0.0)
        self.stopped: tuple[str, str] | None = None  # (reason, sentence) once a limit refused a request
        self._upstream = upstream_of(self.spec)
        self._client: Any = None
        self._messages: dict[str, Any] = {}  # one object per distinct message: the trace renders each once

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}" if self.socket_path is None else f"unix:{self.socket_path}"

    async def start(self) -> None:
        self._client = anthropic.DefaultAsyncHttpxClient(timeout=self.spec.timeout)
        if self.socket_path is None:
            await super().start()
            return
        self._server = await asyncio.start_unix_server(self._connection, str(self.socket_path))

    async def stop(self) -> None:
        await super().stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- spend -----------------------------------------------------------------------------------

    def spent(self) -> tuple[int, float]:
        """(tokens, usd) of the run so far, what was spent before this relay included."""
        usage = self._before[0] + self.stats.usage
        return usage.total_input + usage.output_tokens, self._before[1] + self.stats.cost_usd

    def exhausted(self) -> tuple[str, str] | None:
        tokens, usd = self.spent()
        if self.limits.max_usd is not None and usd >= self.limits.max_usd:
            return "usd", f"spent ${usd:.4f} of ${self.limits.max_usd:.2f}"
        if self.limits.max_tokens is not None and tokens >= self.limits.max_tokens:
            return "tokens", f"used {tokens} of {self.limits.max_tokens} tokens"
        return None

    # -- requests --------------------------------------------------------------------------------

    async def handle(self, request: HttpRequest) -> Reply:
        path = request.path.split("?", 1)[0]
        if request.method != "POST" or path not in RELAYED:
            return _error(404, "not_found_error", f"agentbook relay: {request.method} {path} is not relayed")
        if not self._authorised(request.headers):
            return _error(401, "authentication_error", "agentbook relay: wrong or missing relay token")
        if path.endswith("count_tokens"):
            return await self._forward_plain(request, path)
        spent = self.exhausted()
        if spent is not None:
            self.stopped = spent
            if self.transcript is not None:
                self.transcript.event("relay_refused", reason=spent[0], message=spent[1])
            # 400: an agent retries 429/5xx for minutes, but gives up on an invalid request at once
            return _error(400, "invalid_request_error", f"agentbook relay: budget exhausted: {spent[1]}")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "invalid_request_error", "agentbook relay: the body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "agentbook relay: the body is not a JSON object")
        reaching = _server_side(body)
        if reaching is not None:
            if self.transcript is not None:
                self.transcript.event("relay_refused", reason="server_tool", message=reaching)
            return _error(400, "invalid_request_error", f"agentbook relay: {reaching} is not relayed: the sandbox "
                                                        "has no network, and the model's servers do not stand in for it")
        return await self._forward_messages(request, path, body)

    def _authorised(self, headers: dict[str, str]) -> bool:
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        return secrets.compare_digest(given.encode(), self.token.encode())

    def _headers(self, incoming: dict[str, str]) -> dict[str, str]:
        headers = {k: v for k, v in incoming.items() if k in PASS_HEADERS}
        key = self.spec.api_key() or ""
        if self.spec.auth == "x-api-key" or self.spec.kind in ("anthropic", "scripted"):
            headers["x-api-key"] = key
        elif self.spec.auth == "bearer":
            headers["authorization"] = f"Bearer {key}"
        if self.spec.version:
            headers["anthropic-version"] = self.spec.version
        return headers

    async def _forward_plain(self, request: HttpRequest, path: str) -> Reply:
        try:
            resp = await self._client.post(self._upstream + path, content=request.body,
                                           headers=self._headers(request.headers))
        except Exception as err:  # noqa: BLE001 - any transport failure is the agent's 502, never our crash
            return _error(502, "api_error", f"agentbook relay: upstream unreachable: {type(err).__name__}")
        return Reply(resp.status_code, resp.content, _reply_headers(resp.headers),
                     resp.headers.get("content-type", "application/json"))

    async def _forward_messages(self, request: HttpRequest, path: str, body: dict[str, Any]) -> Reply:
        start_ns, started = time.time_ns(), time.monotonic()
        try:
            upstream = self._client.build_request("POST", self._upstream + path, content=request.body,
                                                  headers=self._headers(request.headers))
            resp = await self._client.send(upstream, stream=True)
        except Exception as err:  # noqa: BLE001 - see _forward_plain
            self._record(body, start_ns, started, None, 502, f"upstream unreachable: {type(err).__name__}")
            return _error(502, "api_error", f"agentbook relay: upstream unreachable: {type(err).__name__}")
        headers = _reply_headers(resp.headers)
        kind = resp.headers.get("content-type", "application/json")
        if resp.status_code != 200 or not kind.startswith("text/event-stream"):
            raw = await resp.aread()
            await resp.aclose()
            message = _json_or_none(raw) if resp.status_code == 200 else None
            error = None if resp.status_code == 200 else f"HTTP {resp.status_code}: {raw[:300].decode('utf-8', 'replace')}"
            self._record(body, start_ns, started, message, resp.status_code, error)
            return Reply(resp.status_code, raw, headers, kind)
        return Reply(200, self._relay_stream(resp, body, start_ns, started), headers, kind)

    async def _relay_stream(self, resp: Any, body: dict[str, Any], start_ns: int,
                            started: float) -> AsyncIterator[bytes]:
        acc, buffer, error = Accumulator(), b"", None
        try:
            async for chunk in resp.aiter_raw():
                yield chunk
                buffer += chunk
                *events, buffer = buffer.split(b"\n\n")
                for raw in events:
                    _feed(acc, raw)
        except Exception as err:
            error = f"stream cut: {type(err).__name__}"
            raise
        finally:
            await resp.aclose()
            message = None if not acc.stopped else {
                "id": acc.id, "model": acc.model, "content": acc.blocks, "stop_reason": acc.stop_reason,
                "usage": acc.usage}
            self._record(body, start_ns, started, message, 200,
                         error or (None if acc.stopped else "the stream ended before message_stop"))

    # -- records ---------------------------------------------------------------------------------

    def _record(self, body: dict[str, Any], start_ns: int, started: float, message: dict[str, Any] | None,
                status: int, error: str | None) -> None:
        model = str((message or {}).get("model") or body.get("model") or self.spec.model)
        usage = usage_from_dict((message or {}).get("usage") or {})
        usd, estimated = cost_usd(model, usage)
        self.stats.requests += 1
        self.stats.usage = self.stats.usage + usage
        self.stats.cost_usd += usd
        self.stats.cost_estimated = self.stats.cost_estimated or (estimated and usd > 0)
        self.stats.calls.append(RelayCall(model, status, usage.total_input, usage.output_tokens, usd,
                                          round(time.monotonic() - started, 4)))
        if self.trace is not None:
            self.trace.chat(start_ns=start_ns, model=model, request={
                "messages": [self._interned(m) for m in body.get("messages") or []],
                "system": _system_text(body.get("system")), "max_tokens": body.get("max_tokens", 0)},
                response=None if message is None else {k: message.get(k) for k in ("id", "model", "content",
                                                                                     "stop_reason")},
                usage=usage.to_json() if message is not None else None, cost_usd=usd, error=error)
        if self.transcript is not None:
            self.transcript.event("relay", model=model, status=status, messages=len(body.get("messages") or []),
                                  content=(message or {}).get("content"), stop_reason=(message or {}).get("stop_reason"),
                                  usage=usage.to_json(), cost_usd=round(usd, 6), error=error)

    def _interned(self, message: Any) -> Any:
        key = json.dumps(message, sort_keys=True, default=str)
        return self._messages.setdefault(key, message)


def _server_side(body: dict[str, Any]) -> str | None:
    """What in a request would have the model's servers reach out for the agent (a server tool, an MCP
    server, a code-execution container), or None."""
    for name in SERVER_SIDE_FIELDS:
        if body.get(name):
            return f"`{name}`"
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ([] if tools is None else [tools]):
        kind = tool.get("type") if isinstance(tool, dict) else "?"
        if kind not in (None, "custom") and not (isinstance(kind, str) and kind.startswith(CLIENT_TOOL_TYPES)):
            return f"the server tool {str(kind)[:60]!r}"
    return None


def _feed(acc: Accumulator, raw: bytes) -> None:
    for line in raw.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                event = json.loads(line[5:])
            except ValueError:
                return
            if isinstance(event, dict):
                acc.add(event)


def _system_text(system: Any) -> str:
    if isinstance(system, list):
        return "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    return str(system or "")


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _reply_headers(headers: Any) -> dict[str, str]:
    return {k: headers[k] for k in REPLY_HEADERS if k in headers}


def _error(status: int, kind: str, message: str) -> Reply:
    return json_reply(status, {"type": "error", "error": {"type": kind, "message": message}})
