"""ATIF agent trajectories (harbor's Agent Trajectory Interchange Format, `schema_version: ATIF-v1.x`).

A trajectory becomes one agent span (the run) with one child per step: system and user steps carry
their message as input, agent steps are llm spans whose output is the assistant message with its
reasoning and tool calls; each observation result becomes a tool span under its step, matched to the
call by `source_call_id`. Subagent trajectory references are shown in the tool result.
"""

from __future__ import annotations

from typing import Any

from .model import Message, Span, ToolCall, Trace
from .values import as_dict, as_float, as_int, as_list, as_text, to_ns


def is_atif(doc: Any) -> bool:
    return isinstance(doc, dict) and str(doc.get("schema_version", "")).startswith("ATIF") or (
        isinstance(doc, dict) and isinstance(doc.get("steps"), list) and isinstance(doc.get("agent"), dict)
        and "session_id" in doc)


def read_atif(doc: dict[str, Any], source: str) -> Trace:
    session = str(doc.get("session_id") or "trajectory")
    agent = as_dict(doc.get("agent"))
    trace = Trace(trace_id=session, format="atif", source=source, name=str(agent.get("name") or "agent"))
    root = Span(span_id="run", trace_id=session, kind="agent", name=str(agent.get("name") or "agent"),
                model=str(agent.get("model_name") or ""), status="ok")
    metrics = as_dict(doc.get("final_metrics"))
    root.input_tokens = as_int(metrics.get("total_prompt_tokens"))
    root.output_tokens = as_int(metrics.get("total_completion_tokens"))
    root.cost_usd = as_float(metrics.get("total_cost_usd"))
    for key in ("version", "extra"):
        if agent.get(key):
            root.attributes[f"agent.{key}"] = agent[key]
    for key in ("schema_version", "notes", "extra"):
        if doc.get(key):
            trace.metadata[key] = doc[key]
    trace.spans.append(root)
    for n, step in enumerate(as_list(doc.get("steps"))):
        if not isinstance(step, dict):
            trace.problems.append(f"step {n} is not an object: skipped")
            continue
        trace.spans += _step_spans(step, n, root, session)
    times = [s.start_ns for s in trace.spans if s.start_ns is not None]
    if times:
        root.start_ns, root.end_ns = min(times), max(times)
    return trace


def _step_spans(step: dict[str, Any], n: int, root: Span, session: str) -> list[Span]:
    step_id = str(step.get("step_id", n + 1))
    source = str(step.get("source") or "agent")
    span = Span(span_id=f"step-{step_id}", parent_id=root.span_id, trace_id=session, status="ok",
                start_ns=to_ns(step.get("timestamp")))
    span.end_ns = span.start_ns
    message = as_text(step.get("message"))
    if source == "agent":
        span.kind, span.name = "llm", f"step {step_id} agent"
        span.model = str(step.get("model_name") or root.model)
        calls = [ToolCall(name=str(c.get("function_name", "")), arguments=as_text(c.get("arguments")),
                          id=str(c.get("tool_call_id", ""))) for c in as_list(step.get("tool_calls"))
                 if isinstance(c, dict)]
        span.output_messages.append(Message(role="assistant", content=message, tool_calls=calls,
                                            reasoning=as_text(step.get("reasoning_content"))))
        metrics = as_dict(step.get("metrics"))
        span.input_tokens = as_int(metrics.get("prompt_tokens"))
        span.output_tokens = as_int(metrics.get("completion_tokens"))
        span.cost_usd = as_float(metrics.get("cost_usd"))
        if metrics.get("cached_tokens") is not None:
            span.attributes["cached_tokens"] = metrics["cached_tokens"]
    else:
        span.kind, span.name = "other", f"step {step_id} {source}"
        span.input_messages.append(Message(role=source, content=message))
    for key in ("reasoning_effort", "extra"):
        if step.get(key) not in (None, "", {}):
            span.attributes[key] = step[key]
    return [span] + _observation_spans(step, span, session)


def _observation_spans(step: dict[str, Any], parent: Span, session: str) -> list[Span]:
    observation = as_dict(step.get("observation"))
    calls = {c.id: c for m in parent.output_messages for c in m.tool_calls}
    out = []
    for k, result in enumerate(as_list(observation.get("results"))):
        if not isinstance(result, dict):
            continue
        call = calls.get(str(result.get("source_call_id") or ""))
        tool = Span(span_id=f"{parent.span_id}-result-{k + 1}", parent_id=parent.span_id, trace_id=session,
                    kind="tool", name=call.name if call else "observation", status="ok",
                    start_ns=parent.start_ns, end_ns=parent.end_ns)
        tool.tool_name = call.name if call else ""
        tool.tool_call_id = call.id if call else str(result.get("source_call_id") or "")
        tool.tool_args = call.arguments if call else None
        text = as_text(result.get("content"))
        for ref in as_list(result.get("subagent_trajectory_ref")):
            if isinstance(ref, dict):
                text += f"\n[subagent trajectory: session {ref.get('session_id')}, {ref.get('trajectory_path') or ''}]"
        tool.tool_result = text
        extra = as_dict(result.get("extra"))
        if result.get("is_error") or extra.get("is_error"):
            tool.status, tool.status_message = "error", "tool reported an error"
        out.append(tool)
    return out
