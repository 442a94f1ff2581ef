"""Model backends behind one protocol (base.py): `load_model(spec)` is the way in.

    model = load_model("scripted:examples/sessions/explore.script.yaml")
    response = await model.complete(ModelRequest(messages=[{"role": "user", "content": "hi"}]))
"""

from __future__ import annotations

import os

from agentbook.models.base import Model, ModelRequest, ModelResponse, StreamCallback, Usage
from agentbook.models.errors import (
    AuthError,
    BadRequest,
    ConnectionFailed,
    MidStreamError,
    ModelError,
    Overloaded,
    RateLimited,
    ServerError,
    SpendLimit,
)
from agentbook.models.spec import BackendSpec, parse_spec


def load_model(spec: str) -> Model:
    """Build the backend a spec string names. Bad specs, bad scripts and a bad prices file raise
    FatalError: the prices are read here, so a broken `AGENTBOOK_PRICES` stops a run before its first
    paid request (and the first turn of a process does not pay for parsing them)."""
    from agentbook.confine import check_model
    from agentbook.models.pricing import price_table

    check_model(spec)  # inside a session: its own model or a script below its root, nothing else
    parsed = parse_spec(spec)
    price_table()
    model = _load(parsed)
    if os.environ.get("AGENTBOOK_TRACE_FILE"):  # the program asked for a trace of its model calls
        from agentbook.models.tracing import traced

        return traced(model)
    return model


def _load(parsed: BackendSpec) -> Model:
    if parsed.kind == "scripted":
        from agentbook.models.scripted import ScriptedModel, needs_http
        from agentbook.standin.server import ensure_server, script_server

        assert parsed.script is not None
        server = script_server(parsed.script)
        if needs_http(parsed, server.script) is None:
            return ScriptedModel(parsed, server)
        server = ensure_server(parsed.script)
        return _sdk_backend(parsed, server.script.model, server.base_url)
    return _sdk_backend(parsed, parsed.model, parsed.base_url)


def _sdk_backend(parsed: BackendSpec, name: str, base_url: str | None) -> Model:
    from agentbook.models.backend import MessagesBackend  # the SDK: only for a model that speaks HTTP

    return MessagesBackend(parsed, name, base_url)

__all__ = [
    "AuthError", "BackendSpec", "BadRequest", "ConnectionFailed", "MidStreamError", "Model", "ModelError",
    "ModelRequest", "ModelResponse", "Overloaded", "RateLimited", "ServerError", "SpendLimit",
    "StreamCallback", "Usage", "load_model", "parse_spec",
]
