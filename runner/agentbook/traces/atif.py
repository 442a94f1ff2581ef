"""ATIF agent trajectories (harbor's Agent Trajectory Interchange Format, `schema_version: ATIF-v1.x`).

A trajectory becomes one agent span (the run) with one child per step: system and user steps carry
their message as input, agent steps are llm spans whose output is the assistant message with its
reasoning and tool calls; each observation result becomes a tool span under its step, matched to the
call by `source_call_id`. Subagent trajectory references are shown in the tool result, every field of
each; a subagent trajectory embedded in the document (v1.7 `subagent_trajectories[]`) is read the same
way, its run span under the tool span whose result references it (by `trajectory_id`, or `session_id`
as before v1.7), else under the parent's run.

Other writers' trajectories differ in detail, and are read too: `schema_version` without the `ATIF-`
prefix, `actor` for `source`, tool calls as `{id, name, input|args}`, an observation that is one
result (`observation.content` / `observation.result`, `is_error`/`error`), token and cost totals under
other names. Fields no rule reads stay on their span's attributes (or the trace's metadata).
"""

from __future__ import annotations

from typing import Any

from .model import Message, Span, ToolCall, Trace
from .values import as_dict, as_float, as_int, as_list, as_text, first, to_ns

STEP_FIELDS = {"step_id", "source", "actor", "timestamp", "message", "model_name", "tool_calls", "reasoning_content",
               "metrics", "observation", "reasoning_effort", "extra"}
DOC_FIELDS = {"session_id", "agent", "steps", "final_metrics", "subagent_trajectories"}
CALL_FIELDS = {"function", "function_name", "name", "tool", "tool_name", "arguments", "input", "args", "parameters",
               "tool_call_id", "id", "call_id"}


def is_atif(doc: Any) -> bool:
    return isinstance(doc, dict) and str(doc.get("schema_version", "")).upper().startswith("ATIF") or (
        isinstance(doc, dict) and isinstance(doc.get("steps"), list) and isinstance(doc.get("agent"), dict)
        and "session_id" in doc)


def read_atif(doc: dict[str, Any], source: str) -> Trace:
    session = str(doc.get("session_id") or "trajectory")
    agent = as_dict(doc.get("agent"))
    trace = Trace(trace_id=session, format="atif", source=source, name=str(agent.get("name") or "agent"))
    for key, value in doc.items():
        if key not in DOC_FIELDS and value not in (None, "", {}, []):
            trace.metadata[key] = value
    _trajectory(doc, trace, session, "", None)
    return trace


def _trajectory(doc: dict[str, Any], trace: Trace, session: str, prefix: str, parent: str | None) -> Span:
    """One trajectory's spans into `trace`: its run span (under `parent`), one per step, then its
    embedded subagents'. `prefix` keeps a subagent's span ids apart from its parent's."""
    agent = as_dict(doc.get("agent"))
    root = Span(span_id=f"{prefix}run", parent_id=parent, trace_id=session, kind="agent",
                name=str(agent.get("name") or "agent"), model=str(agent.get("model_name") or ""), status="ok")
    metrics = as_dict(doc.get("final_metrics"))
    root.input_tokens = as_int(first(metrics, "total_prompt_tokens", "total_input_tokens", "prompt_tokens",
                                     "input_tokens"))
    root.output_tokens = as_int(first(metrics, "total_completion_tokens", "total_output_tokens",
                                      "completion_tokens", "output_tokens"))
    root.cost_usd = as_float(first(metrics, "total_cost_usd", "total_cost", "cost_usd", "cost"))
    if metrics:
        root.attributes["final_metrics"] = metrics
    for key, value in agent.items():
        if key not in ("name", "model_name") and value not in (None, "", {}, []):
            root.attributes[f"agent.{key}"] = value
    if prefix:  # an embedded subagent: its own fields are its run's (the document's are the trace's)
        root.attributes.update({k: v for k, v in doc.items() if k not in DOC_FIELDS and v not in (None, "", {}, [])})
        if doc.get("session_id"):
            root.attributes["session_id"] = doc["session_id"]
    first_span = len(trace.spans)
    trace.spans.append(root)
    for n, step in enumerate(as_list(doc.get("steps"))):
        if not isinstance(step, dict):
            trace.problems.append(f"{prefix}step {n} is not an object: skipped")
            continue
        trace.spans += _step_spans(step, n, root, session)
    own = trace.spans[first_span:]
    times = [s.start_ns for s in own if s.start_ns is not None]
    if times:
        root.start_ns, root.end_ns = min(times), max(times)
    if root.input_tokens is None and root.cost_usd is None:  # no totals given: the steps' sums
        steps = [s for s in own if s.kind == "llm"]
        root.input_tokens = sum(s.input_tokens or 0 for s in steps) or None
        root.output_tokens = sum(s.output_tokens or 0 for s in steps) or None
        costs = [s.cost_usd for s in steps if s.cost_usd is not None]
        root.cost_usd = sum(costs) if costs else None
    _subagents(doc, trace, session, prefix, root, own)
    return root


def _subagents(doc: dict[str, Any], trace: Trace, session: str, prefix: str, root: Span, own: list[Span]) -> None:
    """The trajectories embedded in `doc`, each under the tool span that references it."""
    callers = {key: span.span_id for span in own for key in span.attributes.pop("_subagent_keys", ())}
    for n, sub in enumerate(as_list(doc.get("subagent_trajectories"))):
        if not isinstance(sub, dict):
            trace.problems.append(f"{prefix}subagent trajectory {n} is not an object: kept in trace.json")
            trace.metadata.setdefault("subagent_trajectories", []).append(sub)
            continue
        key = str(sub.get("trajectory_id") or sub.get("session_id") or n)
        parent = callers.get(str(sub.get("trajectory_id") or "")) or callers.get(str(sub.get("session_id") or ""))
        if parent is None:
            trace.problems.append(f"subagent trajectory {key} is referenced by no tool result: placed under "
                                  f"{root.span_id}")
        _trajectory(sub, trace, session, f"{prefix}sub-{key}-", parent or root.span_id)


def _call(c: dict[str, Any]) -> ToolCall:
    fn = as_dict(c.get("function"))
    name = first(c, "function_name", "name", "tool", "tool_name") or fn.get("name") or ""
    args = first(c, "arguments", "input", "args", "parameters")
    return ToolCall(name=str(name), arguments=as_text(args if args is not None else fn.get("arguments")),
                    id=str(first(c, "tool_call_id", "id", "call_id") or ""))


def _call_rest(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """What a step's tool calls carry beyond name, id and arguments (`extra`, ...), by call."""
    rest: dict[str, Any] = {}
    for n, c in enumerate(calls):
        fields = {k: v for k, v in c.items() if k not in CALL_FIELDS and v not in (None, "", {}, [])}
        fields.update({k: v for k, v in as_dict(c.get("function")).items() if k not in ("name", "arguments")})
        if fields:
            rest[str(first(c, "tool_call_id", "id", "call_id") or n)] = fields
    return rest


def _step_spans(step: dict[str, Any], n: int, root: Span, session: str) -> list[Span]:
    step_id = str(step.get("step_id", n + 1))
    source = str(first(step, "source", "actor") or "agent")
    prefix = root.span_id.removesuffix("run")  # a subagent's steps are apart from its parent's
    span = Span(span_id=f"{prefix}step-{step_id}", parent_id=root.span_id, trace_id=session, status="ok",
                start_ns=to_ns(step.get("timestamp")))
    span.end_ns = span.start_ns
    message = as_text(step.get("message"))
    if source in ("agent", "assistant"):
        span.kind, span.name = "llm", f"step {step_id} agent"
        span.model = str(step.get("model_name") or root.model)
        raw_calls = [c for c in as_list(step.get("tool_calls")) if isinstance(c, dict)]
        calls = [_call(c) for c in raw_calls]
        if rest := _call_rest(raw_calls):
            span.attributes["tool_calls"] = rest
        span.output_messages.append(Message(role="assistant", content=message, tool_calls=calls,
                                            reasoning=as_text(step.get("reasoning_content"))))
        metrics = as_dict(step.get("metrics"))
        span.input_tokens = as_int(first(metrics, "prompt_tokens", "input_tokens"))
        span.output_tokens = as_int(first(metrics, "completion_tokens", "output_tokens"))
        span.cost_usd = as_float(first(metrics, "cost_usd", "cost"))
        rest = {k: v for k, v in metrics.items() if k not in ("prompt_tokens", "input_tokens", "completion_tokens",
                                                               "output_tokens", "cost_usd", "cost")}
        span.attributes.update({("cached_tokens" if k == "cached_tokens" else f"metrics.{k}"): v
                                for k, v in rest.items()})
    else:
        span.kind, span.name = "other", f"step {step_id} {source}"
        span.input_messages.append(Message(role=source, content=message))
        for c in as_list(step.get("tool_calls")):  # tool calls on a non-agent step: kept, not dropped
            span.attributes.setdefault("tool_calls", []).append(c)
    for key, value in step.items():
        if key not in STEP_FIELDS - {"reasoning_effort", "extra"} and value not in (None, "", {}, []):
            span.attributes[key] = value
    return [span] + _observation_spans(step, span, session)


def _results(observation: Any) -> list[dict[str, Any]]:
    """An observation's results: `results[]`, a list, or the observation itself as one result."""
    if isinstance(observation, list):
        return [r if isinstance(r, dict) else {"content": r} for r in observation]
    obs = as_dict(observation)
    if isinstance(obs.get("results"), list):
        return [r if isinstance(r, dict) else {"content": r} for r in obs["results"]]
    if obs:
        return [obs]
    return [{"content": observation}] if observation not in (None, "") else []


def _observation_spans(step: dict[str, Any], parent: Span, session: str) -> list[Span]:
    calls = [c for m in parent.output_messages for c in m.tool_calls]
    by_id = {c.id: c for c in calls if c.id}
    out = []
    for k, result in enumerate(_results(step.get("observation"))):
        call_id = str(first(result, "source_call_id", "tool_call_id", "call_id", "tool_use_id", "id") or "")
        call = by_id.get(call_id) or (calls[k] if not call_id and k < len(calls) else None)
        tool = Span(span_id=f"{parent.span_id}-result-{k + 1}", parent_id=parent.span_id, trace_id=session,
                    kind="tool", name=call.name if call else "observation", status="ok",
                    start_ns=parent.start_ns, end_ns=parent.end_ns)
        tool.tool_name = call.name if call else ""
        tool.tool_call_id = call.id if call else call_id
        tool.tool_args = call.arguments if call else None
        text = as_text(first(result, "content", "result", "output", "text"))
        keys: list[str] = []
        for ref in as_list(result.get("subagent_trajectory_ref")):
            if isinstance(ref, dict):
                text += "\n" + _ref_line(ref)
                keys += [str(ref[k]) for k in ("trajectory_id", "session_id") if ref.get(k)]
        if keys:
            tool.attributes["_subagent_keys"] = keys
        tool.tool_result = text
        extra = as_dict(result.get("extra"))
        error = first(result, "error", "error_message") or extra.get("error")
        if result.get("is_error") or extra.get("is_error") or error:
            tool.status = "error"
            tool.status_message = as_text(error) if error else (_first_line(text) or "tool reported an error")
        used = {"source_call_id", "tool_call_id", "call_id", "tool_use_id", "id", "content", "result", "output", "text",
                "subagent_trajectory_ref", "is_error", "error", "error_message"}
        tool.attributes.update({k: v for k, v in result.items() if k not in used and v not in (None, "", {}, [])})
        out.append(tool)
    return out


def _ref_line(ref: dict[str, Any]) -> str:
    """A subagent reference as the tool result shows it: every field it has."""
    fields = {k: v for k, v in ref.items() if k != "extra" and v not in (None, "", {}, [])}
    fields.update({k: v for k, v in as_dict(ref.get("extra")).items() if v not in (None, "", {}, [])})
    return "[subagent trajectory: " + ", ".join(f"{k} {as_text(v)}" for k, v in fields.items()) + "]"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""
