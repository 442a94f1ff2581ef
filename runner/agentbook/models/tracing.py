"""The trace of a program's own model calls: set `AGENTBOOK_TRACE_FILE` and it is written for you.

A program that calls models through `agentbook.models.load_model` gets an OTLP/JSON trace of every
call when `AGENTBOOK_TRACE_FILE=<path>` is set in its environment (`agentbook backtest run` sets it for
each investigation): one `invoke_agent <name>` root span, a `chat <model>` span per model request
(request, answer, usage and cost, in the OTel GenAI conventions the trace exporter reads) and an
`execute_tool <name>` span per `record_tool(...)` the program makes for its own tools. The file is
rewritten (atomically) after every span, so a program that crashes mid-way still leaves what it did.
Secrets in the environment are redacted as in session traces.

    from agentbook.models import tracing
    tracing.record_tool("loki.query", {"query": q}, "\\n".join(lines))   # a no-op when tracing is off
    tracing.annotate(**{"app.answer.component": component})               # attributes of the root span
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agentbook.models.base import ModelRequest, ModelResponse, StreamCallback

TRACE_ENV = "AGENTBOOK_TRACE_FILE"
NAME_ENV = "AGENTBOOK_TRACE_NAME"  # the root span's agent name (default: the program's name)
_lock = threading.Lock()
_traces: dict[str, ProgramTrace] = {}


class ProgramTrace:
    """One trace file for this process; spans are appended as calls finish."""

    def __init__(self, path: Path, name: str) -> None:
        from agentbook.redaction import process_redactor
        from agentbook.session.trace import TraceRecorder  # only when tracing is on

        self.path = path
        self._recorder = TraceRecorder(path, f"{name}-{os.getpid()}", process_redactor())
        self._recorder.root.name = f"invoke_agent {name}"
        self._recorder.root.attributes["gen_ai.agent.name"] = name
        self._lock = threading.Lock()
        self._error: str | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write()
        atexit.register(self.close)

    def chat(self, *, start_ns: int, model: str, request: dict[str, Any], response: ModelResponse | None,
             error: str | None = None) -> None:
        from agentbook.models.pricing import cost_usd

        usage = response.usage if response is not None else None
        cost = cost_usd(response.model or model, usage)[0] if response is not None and usage is not None else None
        answer = None if response is None else {"id": response.id, "model": response.model,
                                                "content": response.content, "stop_reason": response.stop_reason}
        with self._lock:
            self._recorder.chat(start_ns=start_ns, model=model, request=request, response=answer,
                                usage=usage.to_json() if usage is not None else None, cost_usd=cost, error=error)
            self._write()

    def tool(self, name: str, args: Any, result: str, *, is_error: bool = False, start_ns: int | None = None,
             call_id: str = "") -> None:
        with self._lock:
            self._recorder.tool(start_ns=start_ns or time.time_ns(), call_id=call_id or f"{name}-{time.time_ns()}",
                                name=name, args=args, result=result, is_error=is_error)
            self._write()

    def annotate(self, attributes: dict[str, Any], error: str | None = None) -> None:
        with self._lock:
            self._recorder.root.attributes.update(attributes)
            if error is not None:
                self._error = error
                self._recorder.root.error = error
            self._write()

    def close(self) -> None:
        with self._lock:
            self._recorder.finish({}, self._error)
            self._write()

    def _write(self) -> None:
        try:
            self._recorder.write()
        except OSError:
            pass  # tracing never breaks the program it observes


def current() -> ProgramTrace | None:
    """This process's trace when `AGENTBOOK_TRACE_FILE` is set, else None."""
    raw = os.environ.get(TRACE_ENV)
    if not raw:
        return None
    with _lock:
        trace = _traces.get(raw)
        if trace is None:
            name = os.environ.get(NAME_ENV) or Path(sys.argv[0] or "program").stem or "program"
            trace = _traces[raw] = ProgramTrace(Path(raw), name)
        return trace


def record_tool(name: str, args: Any, result: str, *, is_error: bool = False, start_ns: int | None = None) -> None:
    """Add an `execute_tool` span for one of the program's own tools (nothing when tracing is off)."""
    trace = current()
    if trace is not None:
        trace.tool(name, args, result, is_error=is_error, start_ns=start_ns)


def annotate(error: str | None = None, **attributes: Any) -> None:
    """Set attributes (and an error status) on the root span (nothing when tracing is off)."""
    trace = current()
    if trace is not None:
        trace.annotate(attributes, error)


class TracedModel:
    """A `Model` that records each `complete` in the process trace, then answers as the one it wraps."""

    def __init__(self, inner: Any, trace: ProgramTrace) -> None:
        self.inner, self.trace = inner, trace
        self.spec, self.name = inner.spec, inner.name

    async def complete(self, request: ModelRequest, *, on_event: StreamCallback | None = None) -> ModelResponse:
        start = time.time_ns()
        body: dict[str, Any] = {"model": self.name, "max_tokens": request.max_tokens, "messages": request.messages}
        if request.system:
            body["system"] = request.system
        try:
            response: ModelResponse = await self.inner.complete(request, on_event=on_event)
        except Exception as err:
            self.trace.chat(start_ns=start, model=self.name, request=body, response=None,
                            error=f"{type(err).__name__}: {err}")
            raise
        self.trace.chat(start_ns=start, model=self.name, request=body, response=response)
        return response

    def __getattr__(self, name: str) -> Any:  # count_tokens and the rest: as the wrapped model
        return getattr(self.inner, name)

    async def aclose(self) -> None:
        await self.inner.aclose()


def traced(model: Any) -> Any:
    """`model` wrapped so its calls land in the process trace, or `model` itself when tracing is off."""
    trace = current()
    return model if trace is None else TracedModel(model, trace)
