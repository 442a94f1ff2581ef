"""`scripted:` models answered in-process: the stand-in's own answer (same turn selection, prompt cache,
usage, latency, recorded requests) handed over as the stream's events, without a socket, HTTP or the SDK.

A session that tests no HTTP does not need them, and they cost: the SDK's import alone is ~0.8 s of a
session's start. A script that exercises the transport (faults, auth or version rules) and a spec with
`?http=1` or a transport option still go through `MessagesBackend` to a listening stand-in.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from agentbook.models.base import ModelRequest, ModelResponse, StreamCallback
from agentbook.models.errors import from_status
from agentbook.models.governor import GOVERNOR
from agentbook.models.spec import BackendSpec
from agentbook.models.stream import Accumulator, request_params
from agentbook.standin.http import Reply
from agentbook.standin.script import Script, ServerOptions
from agentbook.standin.server import StandinServer
from agentbook.standin.tokens import count_input

_TRANSPORT_OPTIONS = ("auth", "version", "key_env")  # spec options only HTTP can honour


def needs_http(spec: BackendSpec, script: Script) -> str | None:
    """Why this scripted model must go over HTTP (None: it can be answered in-process)."""
    if spec.http:
        return "the spec asks for http=1"
    defaults = BackendSpec(spec.spec, spec.kind, spec.model)
    if any(getattr(spec, name) != getattr(defaults, name) for name in _TRANSPORT_OPTIONS):
        return "the spec sets a transport option (auth, version, key_env)"
    options = script.options
    if (options.auth, options.api_keys, options.versions) != (ServerOptions().auth, (), ()):
        return "the script checks auth or versions"
    if script.faults or any(session.faults for session in _sessions(script)) or \
            any(_has_fault(turn) for session in _sessions(script) for turn in session.turns):
        return "the script has faults (the SDK's retries are under test)"
    return None


def _sessions(script: Script) -> list[Any]:
    return [*script.sessions, *([script.default] if script.default is not None else [])]


def _has_fault(node: Any) -> bool:
    """A `fault:` anywhere in a turn: itself, its variants, its on_result cases."""
    if isinstance(node, dict):
        return "fault" in node or any(_has_fault(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_fault(v) for v in node)
    return False


class ScriptedModel:
    """A `Model` (models/base.py) whose answers come from a stand-in server object called directly."""

    def __init__(self, spec: BackendSpec, server: StandinServer) -> None:
        self.spec = spec.spec
        self.name = server.script.model
        self.backend = spec
        self.server = server

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        body = request_params(self.name, request, self.backend.extra_body)
        body.update(body.pop("extra_body", {}))
        body["stream"] = True
        # the wire's copy: the server keeps (records, caches) what it was sent, and the caller goes on
        # changing its message list; one encode/decode is also what makes the two paths see equal bodies
        loaded: dict[str, Any] = json.loads(json.dumps(body, ensure_ascii=False))
        return loaded

    async def complete(self, request: ModelRequest, *, on_event: StreamCallback | None = None
                       ) -> ModelResponse:
        request_id, answer = await self.server.answer(self._body(request), self._headers())
        if isinstance(answer, Reply):
            raise _error(answer, request_id, self.spec)
        message = Accumulator()
        for name, event in answer:
            if name == "ping":
                continue  # the SDK's stream drops pings too: callers see the same events either way
            message.add(event)
            if on_event is not None:
                result = on_event(event)
                if inspect.isawaitable(result):
                    await result
        GOVERNOR.ok()
        return message.response(self.spec, request_id)

    async def count_tokens(self, request: ModelRequest) -> int:
        """Input tokens the request would use, as the stand-in's count_tokens endpoint answers."""
        body = {k: v for k, v in self._body(request).items() if k not in ("max_tokens", "metadata", "stream")}
        return count_input(body)

    def _headers(self) -> dict[str, str]:
        return {"anthropic-version": self.backend.version or "in-process"}

    async def aclose(self) -> None:
        return None


def _error(reply: Reply, request_id: str, spec: str) -> Exception:
    assert isinstance(reply.body, bytes)
    body = json.loads(reply.body)
    return from_status(reply.status, body, {**reply.headers, "request-id": request_id}, spec,
                       f"Error code: {reply.status}")
