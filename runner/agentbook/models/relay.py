"""The keyless relay: the only way a sandboxed agent CLI reaches a model.

The agent gets `ANTHROPIC_BASE_URL` pointing here and a per-relay token as its "API key"; it never
holds the real key. For every Messages API request the relay checks the token and the budget, adds
the real key (from the run's model spec) upstream, streams the answer back unchanged, and on the way
counts tokens and cost and writes the request and response into the run's OTLP trace and transcript.
Once the run's `max_usd` or `max_tokens` is spent it refuses further requests with an error the agent
cannot retry its way around, and says so in `stopped`.

The budget holds against a hostile agent, not only a careless one (the ticket steers it):
- Only the run's model (and any the runner named besides, such as a grader's) is relayed: a request
  for another (a dearer one) is refused with a 400 the agent does not retry, and recorded.
- A request is admitted with its worst case reserved: its input (estimated from its size,
  `INPUT_BYTES_PER_TOKEN`) plus all of its `max_tokens`. Its `max_tokens` is lowered to what the
  budget left after the requests still in flight can pay for; when that is nothing, it waits for those
  to finish, and when none is in flight it is refused. So many parallel requests, or one with a huge
  `max_tokens`, cannot spend past the budget by more than an input's misestimate.
- A stream that ends before `message_stop` (the agent hung up to dodge the final usage) is charged as
  if it used all its `max_tokens`.
- `count_tokens` is free upstream but model-pinned too; batches and every other endpoint are not relayed.

It listens on a unix socket (bound read-only into the agent's sandbox, which has no network) or on
loopback TCP; `relay_forward.py` is the in-sandbox end that turns the socket back into a loopback
HTTP port for the agent.
"""

from __future__ import annotations

import asyncio
import itertools
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
# Content sources relayed: inline data only. A `url` source (an image, a PDF) is fetched by the model's
# servers, which would be a network for the agent; a `file` one (or a block's `file_id`) reads a file of
# the runner's organisation that the agent did not upload. Any other type (one added later) is refused.
INLINE_SOURCES = ("base64", "text", "content")
CONTENT_DEPTH = 32  # content nests (a tool result holds a document holding content): deeper is refused
# Bytes of request body per input token, to reserve a request's input before its usage is known: text
# and code run 3-4 bytes a token, JSON escaping adds bytes, so this over-reserves ordinary requests.
INPUT_BYTES_PER_TOKEN = 3
# `anthropic-beta` values relayed: those the runner can budget. None changes what a token costs but the
# 1M-context beta, which `pricing` bills at its long-context rates; whatever one lets a request ask of
# the model's servers (server tools, MCP, files, content by URL) is refused by the body checks above
# whatever the header says. Any other beta is refused (400): a beta can change the price (fast mode
# bills six times the rate, compaction and the advisor tool add model calls the usage does not show) or
# have the model's servers act for the agent (web fetch, code execution, skills, files). The first line
# and a half are what Claude Code (2.1.328) was seen sending on its own, `[1m]` models adding the 1M one.
LONG_CONTEXT_BETA = "context-1m-2025-08-07"
RELAYED_BETAS = frozenset({
    "claude-code-20250219", "interleaved-thinking-2025-05-14", "context-management-2025-06-27",
    "advanced-tool-use-2025-11-20", "thinking-token-count-2026-05-13", "effort-2025-11-24",
    "thinking-display-updates-2026-08-18", "mid-conversation-tool-changes-2026-07-01", LONG_CONTEXT_BETA,
    "mid-conversation-output-config-2026-07-01",
    "fine-grained-tool-streaming-2025-05-14", "token-efficient-tools-2025-02-19", "prompt-caching-2024-07-31",
    "prompt-caching-scope-2026-01-05", "extended-cache-ttl-2025-04-11", "output-128k-2025-02-19",
    "structured-outputs-2025-11-13", "computer-use-2025-01-24", "computer-use-2025-11-24",
})
# Body fields that change the price at any value but these (fast mode: `speed`; US-only inference: 1.1x)
PRICED_FIELDS = {"speed": (None, "standard"), "inference_geo": (None, "global")}
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


def wire_model(spec: str) -> str:
    """The model name requests carry for `spec`: the script's for `scripted:`, else the spec's."""
    parsed = parse_spec(spec)
    if parsed.kind == "scripted":
        from agentbook.standin.script import load_script

        return load_script(parsed.script or "").model
    return parsed.model


def upstream_of(spec: BackendSpec) -> str:
    """Where the spec's requests go: the stand-in's URL for `scripted:`, the compat URL, or the API."""
    if spec.kind == "scripted":
        from agentbook.standin.server import ensure_server

        return ensure_server(spec.script or "").base_url
    if spec.kind == "compat":
        return spec.base_url or ANTHROPIC_URL
    return ANTHROPIC_URL


class _Refused(Exception):
    def __init__(self, reason: str, sentence: str) -> None:
        super().__init__(sentence)
        self.reason, self.sentence = reason, sentence


# The Messages API takes request bodies up to 32 MB; the relay reads no more of one (413), and holds at
# most four such at once: it runs in the runner's process, out of the jail's memory limit, and a body
# it read whole (a chunked upload from /dev/zero) grew the runner without bound.
MAX_BODY_BYTES = 32 << 20
MAX_HELD_BYTES = 4 * MAX_BODY_BYTES
MAX_CONNECTIONS = 256  # each is a descriptor of the runner's; an agent CLI keeps a handful open


class Relay(HttpServer):
    """Serve with `await relay.start()` (socket or loopback port), point the agent at it, then read
    `stats` / `stopped`; `await relay.stop()` at the end."""

    max_body = MAX_BODY_BYTES
    max_held = MAX_HELD_BYTES
    max_connections = MAX_CONNECTIONS

    def __init__(self, model: str, *, socket_path: Path | None = None, limits: RelayLimits | None = None,
                 trace: TraceRecorder | None = None, transcript: Transcript | None = None,
                 spent: tuple[Usage, float] | None = None, also: tuple[str, ...] = ()) -> None:
        super().__init__("127.0.0.1", 0)
        self.spec = parse_spec(model)
        # the only model names relayed: the run's, and those the runner named besides (wire names)
        self.models = frozenset({wire_model(model), *also})
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
        self._reserved: dict[int, tuple[int, float]] = {}  # in-flight requests' worst case: (tokens, usd)
        self._settled: asyncio.Condition | None = None  # notified whenever a request's usage is known
        self._tickets = itertools.count()

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

    def _rooms(self, input_tokens: int, model: str, long: bool | None) -> dict[str, int]:
        """Per limit ("tokens", "usd"), how many output tokens a request of `input_tokens` may ask for
        within what is left after the requests in flight; no entry for a limit not set. `long`: as
        `pricing.cost_usd`'s `long_context`."""
        tokens, usd = self.spent()
        rooms: dict[str, int] = {}
        if self.limits.max_tokens is not None:
            held = sum(t for t, _ in self._reserved.values())
            rooms["tokens"] = self.limits.max_tokens - tokens - held - input_tokens
        if self.limits.max_usd is not None:
            held_usd = sum(u for _, u in self._reserved.values())
            input_usd, _ = cost_usd(model, Usage(input_tokens=input_tokens), long_context=long)
            per_output = cost_usd(model, Usage(output_tokens=1_000_000), long_context=long)[0] / 1_000_000
            left = self.limits.max_usd - usd - held_usd - input_usd
            rooms["usd"] = int(left / per_output) if per_output > 0 else (1 << 40 if left >= 0 else 0)
        return rooms

    async def _admit(self, body: dict[str, Any], size: int, with_long_context: bool) -> int:
        """Reserve the request's worst case, lowering its `max_tokens` to what is left, and waiting for
        the requests in flight when nothing is; `_Refused` when none is in flight either. The ticket
        to release once the request's usage is known."""
        model = str(body.get("model"))
        input_tokens = size // INPUT_BYTES_PER_TOKEN + 1
        long = None if with_long_context else False  # the beta's rates whatever the size: the worst case
        if self._settled is None:
            self._settled = asyncio.Condition()
        async with self._settled:
            while True:
                spent = self.exhausted()
                if spent is not None:
                    raise _Refused(*spent)
                rooms = self._rooms(input_tokens, model, long)
                room = min(rooms.values()) if rooms else None
                if room is None or room >= 1:
                    break
                if not self._reserved:
                    tokens, usd = self.spent()
                    if rooms.get("usd", 1) < 1:
                        raise _Refused("usd", f"spent ${usd:.4f} of ${self.limits.max_usd:.2f}: too little left "
                                              f"for a request of about {input_tokens} input tokens")
                    raise _Refused("tokens", f"used {tokens} of {self.limits.max_tokens} tokens: too few left "
                                             f"for a request of about {input_tokens} input tokens")
                await self._settled.wait()
            if room is not None and body["max_tokens"] > room:
                body["max_tokens"] = room
            worst = Usage(input_tokens=input_tokens, output_tokens=body["max_tokens"])
            ticket = next(self._tickets)
            self._reserved[ticket] = (input_tokens + body["max_tokens"], cost_usd(model, worst, long_context=long)[0])
            return ticket

    async def _release(self, ticket: int) -> None:
        if self._settled is None:
            return
        async with self._settled:
            self._reserved.pop(ticket, None)
            self._settled.notify_all()

    # -- requests --------------------------------------------------------------------------------

    async def handle(self, request: HttpRequest) -> Reply:
        path = request.path.split("?", 1)[0]
        if request.method != "POST" or path not in RELAYED:
            return _error(404, "not_found_error", f"agentbook relay: {request.method} {path} is not relayed")
        if not self._authorised(request.headers):
            return _error(401, "authentication_error", "agentbook relay: wrong or missing relay token")
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack (200 KB will do)
            return _error(400, "invalid_request_error", "agentbook relay: the body is not JSON (or nests too deep)")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "agentbook relay: the body is not a JSON object")
        if body.get("model") not in self.models:
            return self._refuse("model", f"the model {str(body.get('model'))[:80]!r} is not relayed: this run's "
                                         f"model is {' or '.join(sorted(map(repr, self.models)))}")
        fetched = _fetched(body.get("messages"))  # counting an image's tokens fetches it too
        if fetched is not None:
            return self._refuse("server_fetch", f"{fetched} is not relayed: the model's servers would fetch "
                                                "it for the agent, which has no network; send the content inline")
        unpriced = _unpriced(request.headers.get("anthropic-beta", ""), body)
        if unpriced is not None:
            return self._refuse("price", f"{unpriced} is not relayed: it changes what the run pays in a way "
                                         f"its budget does not count. Relayed betas: {', '.join(sorted(RELAYED_BETAS))}")
        if path.endswith("count_tokens"):
            return await self._forward_plain(request, path)
        reaching = _server_side(body)
        if reaching is not None:
            return self._refuse("server_tool", f"{reaching} is not relayed: the sandbox has no network, and the "
                                               "model's servers do not stand in for it")
        asked = body.get("max_tokens")
        if not isinstance(asked, int) or isinstance(asked, bool) or asked < 1:
            return _error(400, "invalid_request_error", "agentbook relay: max_tokens must be a positive integer")
        try:
            ticket = await self._admit(body, len(request.body or b""), long_context(request.headers))
        except _Refused as refused:
            self.stopped = (refused.reason, refused.sentence)
            # 400: an agent retries 429/5xx for minutes, but gives up on an invalid request at once
            return self._refuse(refused.reason, f"budget exhausted: {refused.sentence}")
        if body["max_tokens"] != asked:
            request.body = json.dumps(body).encode()
            if self.transcript is not None:
                self.transcript.event("relay_clamped", asked=asked, max_tokens=body["max_tokens"],
                                      message="max_tokens lowered to what the budget left can pay for")
        return await self._forward_messages(request, path, body, ticket)

    def _refuse(self, reason: str, sentence: str) -> Reply:
        """A 400 the agent does not retry, recorded in the transcript."""
        if self.transcript is not None:
            self.transcript.event("relay_refused", reason=reason, message=sentence)
        return _error(400, "invalid_request_error", f"agentbook relay: {sentence}")

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

    async def _forward_messages(self, request: HttpRequest, path: str, body: dict[str, Any], ticket: int) -> Reply:
        start_ns, started = time.time_ns(), time.monotonic()
        long = long_context(request.headers)
        try:
            upstream = self._client.build_request("POST", self._upstream + path, content=request.body,
                                                  headers=self._headers(request.headers))
            resp = await self._client.send(upstream, stream=True)
        except Exception as err:  # noqa: BLE001 - see _forward_plain
            self._record(body, start_ns, started, None, 502, f"upstream unreachable: {type(err).__name__}", long=long)
            await self._release(ticket)
            return _error(502, "api_error", f"agentbook relay: upstream unreachable: {type(err).__name__}")
        headers = _reply_headers(resp.headers)
        kind = resp.headers.get("content-type", "application/json")
        if resp.status_code != 200 or not kind.startswith("text/event-stream"):
            raw = await resp.aread()
            await resp.aclose()
            message = _json_or_none(raw) if resp.status_code == 200 else None
            error = None if resp.status_code == 200 else f"HTTP {resp.status_code}: {raw[:300].decode('utf-8', 'replace')}"
            self._record(body, start_ns, started, message, resp.status_code, error, long=long)
            await self._release(ticket)
            return Reply(resp.status_code, raw, headers, kind)
        return Reply(200, self._relay_stream(resp, body, start_ns, started, ticket, long), headers, kind)

    async def _relay_stream(self, resp: Any, body: dict[str, Any], start_ns: int,
                            started: float, ticket: int, long: bool) -> AsyncIterator[bytes]:
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
                         error or (None if acc.stopped else "the stream ended before message_stop"),
                         charged=None if acc.stopped else _unfinished(acc, body), long=long)
            await self._release(ticket)

    # -- records ---------------------------------------------------------------------------------

    def _record(self, body: dict[str, Any], start_ns: int, started: float, message: dict[str, Any] | None,
                status: int, error: str | None, charged: Usage | None = None, long: bool = False) -> None:
        model = str(body.get("model") or self.spec.model)  # the pinned name, whatever the reply says
        usage = charged or usage_from_dict((message or {}).get("usage") or {})
        usd, estimated = cost_usd(model, usage, long_context=long)
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


def _betas(header: str) -> list[str]:
    return [b.strip() for b in header.split(",") if b.strip()]


def _unpriced(beta_header: str, body: dict[str, Any]) -> str | None:
    """What in a request would change its price past what the budget counts (a beta not relayed, a
    priced body field), or None."""
    for beta in _betas(beta_header):
        if beta not in RELAYED_BETAS:
            return f"the beta {beta[:80]!r}"
    for name, standard in PRICED_FIELDS.items():
        if body.get(name) not in standard:
            return f"`{name}: {str(body.get(name))[:40]}`"
    return None


def long_context(headers: dict[str, str]) -> bool:
    """The request goes out with the 1M-context beta, so it is billed at the long-context rates."""
    return LONG_CONTEXT_BETA in _betas(headers.get("anthropic-beta", ""))


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


def _fetched(blocks: Any, depth: int = 0) -> str | None:
    """What in `messages` (and the content blocks nested in them) the model's servers would fetch: a
    source other than inline data, or a file id; None when there is nothing. Only content is walked,
    never a tool call's `input` (the agent's own arguments, which the API does not read)."""
    if depth > CONTENT_DEPTH:
        return "content nested deeper than the relay reads"
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        source = block.get("source")
        if isinstance(source, dict):
            kind = source.get("type")
            if kind not in INLINE_SOURCES:
                return f"a {str(kind)[:40]!r} source in a {str(block.get('type'))[:40]!r} block"
            found = _fetched(source.get("content"), depth + 1)
            if found is not None:
                return found
        if "file_id" in block:
            return f"a file id in a {str(block.get('type'))[:40]!r} block"
        if block.get("type") != "tool_use":
            found = _fetched(block.get("content"), depth + 1)
            if found is not None:
                return found
    return None


def _unfinished(acc: Accumulator, body: dict[str, Any]) -> Usage:
    """What a stream cut before `message_stop` is charged: the input it reported, and all the output
    it was allowed (the final usage never came, and upstream may have gone on generating)."""
    seen = usage_from_dict(acc.usage or {})
    return Usage(input_tokens=seen.input_tokens, output_tokens=max(seen.output_tokens, int(body.get("max_tokens") or 0)),
                 cache_creation_input_tokens=seen.cache_creation_input_tokens,
                 cache_read_input_tokens=seen.cache_read_input_tokens,
                 cache_creation_5m=seen.cache_creation_5m, cache_creation_1h=seen.cache_creation_1h)


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
