"""agentbook's own session transcripts (JSONL written by `agentbook.session`) -> spans.

Each line is `{"t": seconds, "session": id, "event": kind, ...}` with kinds `session_start`, `user`,
`assistant` (Anthropic content blocks, usage, cost), `tool` (input, content, is_error, ms),
`model_error`, `budget_warning`, `note`, `gate` (a runbook check the runner ran) and `outcome`. The session becomes an agent span; each model turn an
llm span whose input is what was added since the previous turn (the transcript does not repeat the
whole conversation) and whose output is the reply; each tool call a tool span. The OTLP trace the
session writes beside it is read by the OTLP reader instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .model import Message, Span, Trace
from .values import as_dict, as_float, as_int, as_text, to_message, to_ns

EVENT_KINDS = {"session_start", "user", "assistant", "tool", "model_error", "budget_warning", "note", "gate",
               "outcome"}


def is_transcript(lines: list[Any]) -> bool:
    """True when the first documents are transcript events (`event` and `session` on each)."""
    return bool(lines) and all(isinstance(x, dict) and "event" in x and "session" in x for x in lines[:5])


class _Builder:
    def __init__(self, session: str, source: str) -> None:
        self.trace = Trace(trace_id=session, format="agentbook", source=source, name=f"session {session}")
        self.root = Span(span_id="session", trace_id=session, kind="agent", name="agentbook session",
                         status="ok")
        self.trace.spans.append(self.root)
        self.pending: list[Message] = []  # messages added since the last model turn
        self.last_ns: int | None = None
        self.turns = 0

    def child(self, span_id: str, **fields: Any) -> Span:
        span = Span(span_id=span_id, parent_id=self.root.span_id, trace_id=self.trace.trace_id, **fields)
        self.trace.spans.append(span)
        return span

    def add(self, n: int, ev: dict[str, Any]) -> None:
        kind, now = str(ev.get("event")), to_ns(ev.get("t"))
        if self.root.start_ns is None:
            self.root.start_ns = now
        handler = getattr(self, f"on_{kind}") if kind in EVENT_KINDS else self.on_other
        handler(n, ev, now)
        self.last_ns = now or self.last_ns
        self.root.end_ns = now or self.root.end_ns

    def on_session_start(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        self.root.model = str(ev.get("model") or "")
        if ev.get("system"):
            self.pending.append(Message(role="system", content=as_text(ev["system"])))
        for key in ("root", "sandbox", "tools", "protected", "bash_allow", "budgets"):
            if ev.get(key) not in (None, "", []):
                self.root.attributes[key] = ev[key]

    def on_user(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        self.pending.append(Message(role="user", content=as_text(ev.get("text"))))

    def on_assistant(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        self.turns += 1
        span = self.child(f"turn-{n:05d}", kind="llm", name=f"chat turn {ev.get('turn', self.turns)}",
                          start_ns=self.last_ns, end_ns=now, status="ok", model=self.root.model)
        span.input_messages, self.pending = self.pending, []
        reply = to_message({"role": "assistant", "content": ev.get("content") or ""}, "assistant")
        reply.finish_reason = str(ev.get("stop_reason") or "")
        span.output_messages.append(reply)
        usage = as_dict(ev.get("usage"))
        span.input_tokens = as_int(usage.get("input_tokens"))
        span.output_tokens = as_int(usage.get("output_tokens"))
        span.cost_usd = as_float(ev.get("cost_usd"))
        if ev.get("request_id"):
            span.attributes["request_id"] = ev["request_id"]

    def on_tool(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        ms = as_float(ev.get("ms")) or 0.0
        span = self.child(f"tool-{n:05d}", kind="tool", name=f"execute_tool {ev.get('name', '')}",
                          end_ns=now, start_ns=_before(now, ms / 1000), status="ok")
        span.tool_name, span.tool_call_id = str(ev.get("name") or ""), str(ev.get("id") or "")
        span.tool_args, span.tool_result = as_text(ev.get("input")), as_text(ev.get("content"))
        if ev.get("is_error") or ev.get("denied"):
            span.status = "error"
            span.status_message = "denied" if ev.get("denied") else "tool returned an error"
        self.pending.append(Message(role="tool", content=span.tool_result, tool_call_id=span.tool_call_id))

    def on_model_error(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        span = self.child(f"error-{n:05d}", kind="llm", name=f"chat attempt {ev.get('attempt', '?')} failed",
                          start_ns=self.last_ns, end_ns=now, status="error", model=self.root.model)
        span.status_message = " ".join(str(ev.get(k)) for k in ("kind", "status", "message") if ev.get(k))

    def on_budget_warning(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        self.root.warnings.append(f"budget warning: {as_text(ev.get('text'))}")
        self.pending.append(Message(role="user", content=as_text(ev.get("text"))))

    def on_note(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        """A message agentbook itself added to the conversation (e.g. "your reply was cut off")."""
        self.pending.append(Message(role="user", content=as_text(ev.get("text"))))

    def on_gate(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        """A runbook gate (a `check` command) the runner ran after a step; its output goes back to the agent."""
        seconds = as_float(ev.get("seconds")) or 0.0
        code = as_int(ev.get("exit_code"))
        span = self.child(f"gate-{n:05d}", kind="chain", name=f"gate step {ev.get('step', '?')}: {ev.get('command', '')}",
                          end_ns=now, start_ns=_before(now, seconds), status="ok" if code == 0 else "error")
        span.input_text = as_text(ev.get("command"))
        span.output_text = as_text(ev.get("output"))
        span.attributes.update({k: ev[k] for k in ("step", "attempt", "exit_code") if k in ev})
        if code != 0:
            span.status_message = f"gate failed with exit code {code}"
            self.pending.append(Message(role="user", content=span.output_text))

    def on_outcome(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        outcome = as_dict(ev.get("outcome"))
        kind = str(outcome.get("kind") or outcome.get("outcome") or "")
        self.root.output_text = as_text(outcome)
        self.root.cost_usd = as_float(ev.get("cost_usd"))
        usage = as_dict(ev.get("usage"))
        self.root.input_tokens = as_int(usage.get("input_tokens"))
        self.root.output_tokens = as_int(usage.get("output_tokens"))
        if kind and kind not in ("completed", "no_changes"):
            self.root.status = "error"
            self.root.status_message = f"{kind}: {outcome.get('message', '')}".strip(": ")

    def on_other(self, n: int, ev: dict[str, Any], now: int | None) -> None:
        self.root.events.append({"name": str(ev.get("event")), "time_ns": now,
                                 "attributes": {k: v for k, v in ev.items() if k not in ("t", "session", "event")}})


def _before(now: int | None, seconds: float) -> int | None:
    """The start of something that ended at `now` and took `seconds` (None when that makes no sense)."""
    if now is None or not 0 <= seconds * 1e9 < now:
        return None
    return now - int(seconds * 1e9)


def read_transcript(lines: Iterable[dict[str, Any]], source: str) -> list[Trace]:
    builders: dict[str, _Builder] = {}
    for n, ev in enumerate(lines):
        session = str(ev.get("session") or "session")
        builder = builders.setdefault(session, _Builder(session, source))
        builder.add(n, ev)
    for builder in builders.values():
        if builder.pending:  # input no model turn answered (the session stopped first): keep it visible
            span = builder.child("unanswered", kind="chain", name="input after the last model turn", status="ok",
                                 start_ns=builder.last_ns, end_ns=builder.last_ns)
            span.input_messages = builder.pending
    return [b.trace for b in builders.values()]
