"""The stand-in: an Anthropic Messages API server driven by a `*.script.yaml` (README.md here).

Routes, auth, faults, caching and batches; the HTTP plumbing is in http.py. One server runs in the
foreground (`agentbook standin serve`) or on a background thread (`ensure_server`, used by
`scripted:` models), bound to loopback unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agentbook.standin import wire
from agentbook.standin.batches import BatchStore, batch_json
from agentbook.standin.http import DropConnection, HttpRequest, HttpServer, Reply, json_reply
from agentbook.standin.recorder import Recorder
from agentbook.standin.script import Fault, Script, ScriptExhausted, Turn, load_script, request_key
from agentbook.standin.tokens import PromptCache, count_input

API_KEY_HINT_CHARS = 4


class StandinServer(HttpServer):
    """The Messages API, answered from a script; see README.md for what it speaks."""

    def __init__(self, script: Script, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.script = script
        self.recorder = Recorder()
        self.cache = PromptCache(script.options.cache_min_tokens)
        self.batches = BatchStore(script.options.batch_seconds, self._answer_batch_item)
        self._attempts: dict[str, int] = {}
        self._seq = 0
        self._state_lock = threading.Lock()
        self.on_request: Callable[[dict[str, Any]], None] | None = None  # sees each answered API request

    def requests(self, path: str | None = "/v1/messages") -> list[dict[str, Any]]:
        """What clients sent (to `path`; None: every path), for tests to assert on."""
        return self.recorder.requests(path)

    def _request_id(self) -> str:
        self._seq += 1
        return f"req_standin{self._seq:08d}"

    async def handle(self, req: HttpRequest) -> Reply:
        request_id = self._request_id()
        try:
            reply = await self._route(req, request_id)
        except DropConnection:
            raise
        except Exception as err:  # noqa: BLE001 -- a bug in the stand-in: answer like the API would, keep the trace
            traceback.print_exc(file=sys.stderr)
            reply = self._error(500, "api_error", f"stand-in internal error: {err}", request_id)
        reply.headers.setdefault("request-id", request_id)
        return reply

    def _error(self, status: int, error_type: str | None, message: str | None, request_id: str,
               headers: dict[str, str] | None = None) -> Reply:
        etype = error_type or wire.error_type_for(status)
        return json_reply(status, wire.error_body(etype, message, request_id), headers)

    # ---- routes ----------------------------------------------------------------------------------

    async def _route(self, req: HttpRequest, request_id: str) -> Reply:
        path = req.path.split("?", 1)[0].rstrip("/")
        if path == "/_standin/health":
            return json_reply(200, {"ok": True, "script": self.script.path})
        if path == "/_standin/requests":
            if req.method == "DELETE":
                self.recorder.clear()
                return json_reply(200, {"cleared": True})
            return json_reply(200, {"requests": self.recorder.requests()[-_limit(req.path):]})
        body = _parse_json(req.body)
        entry = self.recorder.add(req.method, path, req.headers, body)
        auth_error = self._check_auth(req, entry, request_id)
        if auth_error is not None:
            entry["status"] = auth_error.status
            return auth_error
        reply = await self._api(req.method, path, body, entry, request_id, req.received)
        entry["status"] = reply.status
        if self.on_request is not None:
            self.on_request(entry)
        return reply

    async def _api(self, method: str, path: str, body: Any, entry: dict[str, Any], request_id: str,
                   received: float) -> Reply:
        if method == "POST" and path == "/v1/messages":
            return await self._messages(body, entry, request_id, received)
        if method == "POST" and path == "/v1/messages/count_tokens":
            problem = wire.check_request({**body, "max_tokens": 1} if isinstance(body, dict) else body)
            if problem:
                return self._error(400, None, problem, request_id)
            return json_reply(200, {"input_tokens": count_input(body)})
        if path.startswith("/v1/messages/batches"):
            return self._batches(method, path, body, request_id)
        return self._error(404, None, f"Not found: {method} {path}", request_id)

    def _check_auth(self, req: HttpRequest, entry: dict[str, Any], request_id: str) -> Reply | None:
        options = self.script.options
        key, style = req.headers.get("x-api-key"), "x-api-key"
        if key is None:
            auth = req.headers.get("authorization", "")
            key, style = (auth[7:].strip(), "bearer") if auth.lower().startswith("bearer ") else (None, "none")
        entry["auth"] = style
        entry["api_key_hint"] = key[-API_KEY_HINT_CHARS:] if key else None
        if not key:
            return self._error(401, None, "missing API key: send an x-api-key header or "
                                          "Authorization: Bearer <key>", request_id)
        if style not in options.auth:
            return self._error(401, None, f"authentication style {style} is not accepted by this server "
                                          f"(accepted: {', '.join(options.auth)})", request_id)
        if options.api_keys and key not in options.api_keys:
            return self._error(401, None, "invalid x-api-key", request_id)
        version = req.headers.get("anthropic-version")
        if options.versions and version not in options.versions:
            return self._error(400, None, f"anthropic-version: {version!r} is not a supported version "
                                          f"(supported: {', '.join(options.versions)})", request_id)
        return None

    # ---- messages --------------------------------------------------------------------------------

    def _pick(self, body: Any, request_id: str) -> tuple[Turn, str, int] | Reply:
        """The turn answering `body`, the request's key and which attempt of it this is.

        One counter per distinct request (stable across client retries) serves both faults'
        `attempts:` windows and turns' `variants:`; a request the script cannot answer is not counted.
        """
        problem = wire.check_request(body)
        if problem:
            return self._error(400, None, problem, request_id)
        key = request_key(body)
        attempt = self._attempts.get(key, 0) + 1
        try:
            turn = self.script.select(body, attempt)
        except (ScriptExhausted, LookupError) as err:
            return self._error(400, None, str(err.args[0]), request_id)
        self._attempts[key] = attempt
        return turn, key, attempt

    def _compose(self, body: Any, entry: dict[str, Any], request_id: str
                 ) -> tuple[dict[str, Any] | None, Fault | None, float] | Reply:
        """The message answering `body` (None for a status fault), the fault that fires and the turn's
        latency in seconds, or the error reply; the HTTP and the in-process paths both build it here."""
        with self._state_lock:  # counters, recorder and cache are shared by both paths' threads
            picked = self._pick(body, request_id)
            if isinstance(picked, Reply):
                return picked
            turn, key, attempt = picked
            fault = _active_fault(turn.faults, key, attempt)
            entry.update(session=turn.session, turn=turn.index + 1, attempt=attempt,
                         fault=fault.kind if fault else None)
            if turn.variant is not None:
                entry["variant"] = turn.variant + 1
            if fault is not None and fault.kind == "status":
                return None, fault, turn.latency_ms / 1000
            usage = self.cache.account(body).to_usage()
        return self._message(turn, body, key, attempt, usage), fault, turn.latency_ms / 1000

    def _message(self, turn: Turn, body: dict[str, Any], key: str, attempt: int, usage: dict[str, Any],
                 service_tier: str = "standard") -> dict[str, Any]:
        """The message a picked turn answers with: its blocks cut to `max_tokens`, and the usage counted
        (`usage`: input and cache) or, for what the turn's `usage:` names, the script's exact figures."""
        max_tokens = int(body["max_tokens"])
        blocks, cut = wire.within_max_tokens(turn.blocks, max_tokens)
        message = wire.build_message(f"msg_standin_{key[:12]}_{attempt}", str(body.get("model") or self.script.model),
                                     blocks, "max_tokens" if cut else turn.stop_reason, usage,
                                     service_tier=service_tier)
        for name, value in (turn.usage or {}).items():
            message["usage"][name] = max_tokens if value == "max_tokens" else int(value)
        return message

    async def answer(self, body: dict[str, Any], headers: dict[str, str]
                     ) -> tuple[str, list[tuple[str, dict[str, Any]]] | Reply]:
        """`POST /v1/messages` without HTTP, for an in-process scripted model: the request id and the
        stream's events, or the error reply the server would send. Recorded, counted, cached and delayed
        as over HTTP; faults are not carried out here (a script with faults is served over HTTP)."""
        received = asyncio.get_running_loop().time()
        request_id = self._request_id()
        entry = self.recorder.add("POST", "/v1/messages", headers, body)
        entry.update(auth="in-process", api_key_hint=None)
        composed = self._compose(body, entry, request_id)
        if isinstance(composed, Reply):
            result: list[tuple[str, dict[str, Any]]] | Reply = composed
        elif composed[0] is None:
            raise RuntimeError("a status fault reached the in-process path")  # load_model routes these to HTTP
        else:
            opts = self.script.options
            result = wire.sse_events(composed[0], chunk_chars=opts.chunk_chars, json_chunks=opts.json_chunks)
            await _sleep_until(received + composed[2])
        entry["status"] = result.status if isinstance(result, Reply) else 200
        if self.on_request is not None:
            self.on_request(entry)
        return request_id, result

    async def _messages(self, body: Any, entry: dict[str, Any], request_id: str, received: float) -> Reply:
        composed = self._compose(body, entry, request_id)
        if isinstance(composed, Reply):
            return composed
        message, fault, latency = composed
        # latency_ms runs from the request's arrival: the answer is built within it, not after it
        due = received + latency
        if message is None:
            assert fault is not None
            await _sleep_until(due)
            return self._fault_reply(fault, request_id)
        await _sleep_until(due)
        if fault is not None and fault.kind == "drop" and not fault.after_events:
            raise DropConnection()  # before any byte of the response: the client sees a reset connection
        if not body.get("stream"):
            return await self._plain_reply(message, fault, request_id)
        return Reply(200, self._stream(message, fault), {"cache-control": "no-cache"}, "text/event-stream")

    def _fault_reply(self, fault: Fault, request_id: str) -> Reply:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["retry-after"] = _seconds(fault.retry_after)
            headers["retry-after-ms"] = str(int(fault.retry_after * 1000))
        if fault.should_retry is not None:
            headers["x-should-retry"] = "true" if fault.should_retry else "false"
        return self._error(fault.status, fault.error_type, fault.message, request_id, headers)

    async def _plain_reply(self, message: dict[str, Any], fault: Fault | None, request_id: str) -> Reply:
        if fault is not None and fault.kind == "truncate":
            return Reply(200, json.dumps(message).encode()[:40])  # a body that ends mid-JSON
        error = await _interrupt(fault) if fault is not None else None
        if error is not None:
            # without a stream to break, the error comes as the status the error type stands for
            status = wire.STATUS_FOR_TYPE.get(error["error"]["type"], 500)
            return json_reply(status, {**error, "request_id": request_id})
        return json_reply(200, message)

    async def _stream(self, message: dict[str, Any], fault: Fault | None) -> AsyncIterator[bytes]:
        opts = self.script.options
        events = wire.sse_events(message, chunk_chars=opts.chunk_chars, json_chunks=opts.json_chunks)
        if fault is None:
            # every event is ready at once: one write of them all, as a server's send buffer would
            # coalesce them, not one HTTP chunk (a syscall here, a read and a parse in the client) apiece
            yield b"".join(wire.encode_sse(name, data) for name, data in events)
            return
        for n, (name, data) in enumerate(events):
            if fault is not None and n == fault.after_events:
                if fault.kind == "truncate":
                    return
                if fault.kind == "stall" and fault.ping_every:
                    async for ping in _pinging_stall(fault.seconds, fault.ping_every):
                        yield ping
                    fault = None
                else:
                    error = await _interrupt(fault)
                    if error is not None:
                        yield wire.encode_sse("error", error)
                        return
            yield wire.encode_sse(name, data)

    # ---- batches ---------------------------------------------------------------------------------

    def _answer_batch_item(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        answer = self._pick(params, "")
        if isinstance(answer, Reply):
            assert isinstance(answer.body, bytes)
            return "errored", json.loads(answer.body)
        picked, key, attempt = answer
        fault = _active_fault(picked.faults, key, attempt)
        if fault is not None:
            status = fault.status if fault.kind == "status" else 529
            etype = fault.error_type or wire.error_type_for(status)
            return "errored", wire.error_body(etype, fault.message, None)
        usage = self.cache.account(params).to_usage()
        return "succeeded", self._message(picked, params, key, attempt, usage, service_tier="batch")

    def _batches(self, method: str, path: str, body: Any, request_id: str) -> Reply:
        parts = path.split("/")[4:]  # after /v1/messages/batches
        if method == "POST" and not parts:
            requests = body.get("requests") if isinstance(body, dict) else None
            if not isinstance(requests, list) or not requests or \
                    not all(isinstance(r, dict) and "custom_id" in r and "params" in r for r in requests):
                return self._error(400, None, "requests: a non-empty list of {custom_id, params} is required",
                                   request_id)
            return json_reply(200, batch_json(self.batches.create(requests), self.base_url))
        if method == "GET" and not parts:
            data = [batch_json(b, self.base_url) for b in self.batches.all()]
            return json_reply(200, {"data": data, "has_more": False,
                                     "first_id": data[0]["id"] if data else None,
                                     "last_id": data[-1]["id"] if data else None})
        batch = self.batches.cancel(parts[0]) if parts[1:] == ["cancel"] and method == "POST" \
            else self.batches.get(parts[0])
        if batch is None:
            return self._error(404, None, f"message batch {parts[0]} not found", request_id)
        if parts[1:] == ["results"] and method == "GET":
            if batch.ended is None:
                return self._error(400, None, f"message batch {batch.id} is still in progress", request_id)
            lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch.results)
            return Reply(200, lines.encode(), {}, "application/binary")
        if method == "DELETE" and not parts[1:]:
            return json_reply(200, {"id": batch.id, "type": "message_batch_deleted"})
        return json_reply(200, batch_json(batch, self.base_url))


async def _sleep_until(due: float) -> None:
    left = due - asyncio.get_running_loop().time()
    if left > 0:
        await asyncio.sleep(left)


async def _pinging_stall(seconds: float, every: float) -> AsyncIterator[bytes]:
    """A stall that keeps the connection alive with pings, so no client read timeout ever fires."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        await asyncio.sleep(min(left, every))
        yield wire.encode_sse("ping", {"type": "ping"})


async def _interrupt(fault: Fault) -> dict[str, Any] | None:
    """Carry out a drop or a stall; for a mid-stream error return the error body to send."""
    if fault.kind == "drop":
        raise DropConnection()
    if fault.kind == "stall":
        await asyncio.sleep(fault.seconds)
    elif fault.kind == "midstream_error":
        return wire.error_body(fault.error_type or "overloaded_error", fault.message, None)
    return None


def _active_fault(faults: list[Fault], key: str, attempt: int) -> Fault | None:
    """The first fault that fires on this attempt: within its first-K window and its probability draw."""
    for fault in faults:
        if fault.attempts is not None and attempt > fault.attempts:
            continue
        if fault.probability is not None and \
                random.Random(f"{fault.seed}:{key}:{attempt}").random() >= fault.probability:
            continue
        return fault
    return None


def _limit(target: str) -> int:
    """`?limit=N` on the recorder endpoint: the last N requests (default 1000) keep answers bounded."""
    query = parse_qs(urlsplit(target).query)
    try:
        return max(1, int(query.get("limit", ["1000"])[0]))
    except ValueError:
        return 1000


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"_invalid_json": raw[:200].decode("utf-8", "replace")}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# ---- in-process servers for `scripted:` models ---------------------------------------------------

_RUNNING: dict[tuple[str, float], StandinServer] = {}
_RUNNING_LOCK = threading.Lock()


def script_server(script_path: str | Path) -> StandinServer:
    """The process-wide server for this script file, not necessarily listening: an in-process scripted
    model asks it directly (`answer`), so a session that tests no HTTP starts no thread and no socket."""
    path = Path(script_path).resolve()
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        key = (str(path), 0.0)
    with _RUNNING_LOCK:
        server = _RUNNING.get(key)
    if server is not None:
        return server
    script = load_script(path)  # validates; a bad file raises FatalError before anything starts
    with _RUNNING_LOCK:
        return _RUNNING.setdefault(key, StandinServer(script))


def ensure_server(script_path: str | Path) -> StandinServer:
    """The process-wide in-thread server for this script file (listening from first use, random port)."""
    server = script_server(script_path)
    with _RUNNING_LOCK:
        if server._loop is None:
            server.start_in_thread()
    return server


@contextlib.contextmanager
def running(script: str | Path | Script, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[StandinServer]:
    """A server on a background thread for the duration of a `with` block (tests use this)."""
    server = StandinServer(script if isinstance(script, Script) else load_script(script), host, port)
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


def stop_all() -> None:
    """Stop every in-thread server (tests call this at teardown)."""
    with _RUNNING_LOCK:
        servers = list(_RUNNING.values())
        _RUNNING.clear()
    for server in servers:
        server.stop_thread()
