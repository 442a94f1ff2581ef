"""Langfuse trace exports -> spans: `trace` (with `scores[]`) + `observations[]` (`parentObservationId`).

Accepts the public API's trace object with `observations` inside it, or `{"trace": ..., "observations":
[...]}` beside it. Observation types map to kinds (GENERATION -> llm, TOOL -> tool, ...); level ERROR
fails a span, WARNING flags it; scores are kept on their observation or on the trace.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Message, Span, Trace
from .values import as_dict, as_float, as_int, as_list, as_text, first, maybe_json, to_messages, to_ns

TYPE_KINDS = {
    "GENERATION": "llm", "SPAN": "chain", "EVENT": "other", "AGENT": "agent", "TOOL": "tool",
    "CHAIN": "chain", "RETRIEVER": "retrieval", "EMBEDDING": "other", "EVALUATOR": "other",
    "GUARDRAIL": "other",
}
# Fields shown elsewhere (span fields, span.yaml header) or pure bookkeeping.
CONSUMED = {
    "id", "traceId", "parentObservationId", "type", "name", "startTime", "endTime", "level",
    "statusMessage", "input", "output", "model", "usageDetails", "costDetails", "promptName",
    "promptVersion", "promptId", "metadata",
}  # everything else (bookkeeping, raw usage and cost fields) stays in the span's attributes, verbatim


def is_langfuse(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    trace = as_dict(doc.get("trace")) or doc
    observations = doc.get("observations", trace.get("observations"))
    return isinstance(observations, list) and ("timestamp" in trace or "projectId" in trace
                                               or all(isinstance(o, dict) and "type" in o for o in observations))


def _usage(obs: dict[str, Any], span: Span) -> None:
    usage = obs.get("usageDetails") or obs.get("usage") or {}
    if isinstance(usage, dict):
        span.input_tokens = as_int(first(usage, "input", "promptTokens", "prompt_tokens"))
        span.output_tokens = as_int(first(usage, "output", "completionTokens", "completion_tokens"))
    if span.input_tokens is None and as_int(obs.get("inputUsage")):
        span.input_tokens, span.output_tokens = as_int(obs.get("inputUsage")), as_int(obs.get("outputUsage"))
    cost = as_dict(obs.get("costDetails"))
    total = first(cost, "total") if cost else None
    total = total if total is not None else first(obs, "calculatedTotalCost", "totalCost")
    span.cost_usd = as_float(total) if as_float(total) else None


def _io(value: Any, role: str) -> tuple[list[Message], str]:
    if value is None:
        return [], ""
    messages = to_messages(value, role)
    if messages is not None:
        return messages, ""
    parsed = maybe_json(value)
    if isinstance(parsed, str):
        try:  # Langfuse often stores a string as a JSON string literal
            inner = json.loads(parsed)
            parsed = inner if isinstance(inner, str) else parsed
        except ValueError:
            pass
    return [], as_text(parsed)


def span_from_observation(obs: dict[str, Any], trace_id: str) -> Span:
    level = str(obs.get("level") or "DEFAULT").upper()
    parent = obs.get("parentObservationId")
    span = Span(span_id=str(obs.get("id") or ""), parent_id=str(parent) if parent not in (None, "") else None,
                trace_id=trace_id, name=str(obs.get("name") or obs.get("type") or "observation"),
                kind=TYPE_KINDS.get(str(obs.get("type") or "").upper(), "other"),
                start_ns=to_ns(obs.get("startTime")), end_ns=to_ns(obs.get("endTime")),
                status="error" if level == "ERROR" else "ok", status_message=str(obs.get("statusMessage") or ""),
                model=str(obs.get("model") or ""))
    if level == "WARNING":
        span.warnings.append(f"level WARNING: {span.status_message or 'no message'}")
    _usage(obs, span)
    span.input_messages, span.input_text = _io(obs.get("input"), "user")
    span.output_messages, span.output_text = _io(obs.get("output"), "assistant")
    if span.kind == "tool":
        span.tool_name = span.name
        span.tool_args, span.input_text = (span.input_text or None), ""
        span.tool_result, span.output_text = (span.output_text or None), ""
    for key, name in (("promptName", "name"), ("promptVersion", "version"), ("promptId", "id")):
        if obs.get(key) not in (None, ""):
            span.prompt[name] = as_text(obs[key])
    metadata = maybe_json(obs.get("metadata"))
    if metadata not in (None, {}, ""):
        span.attributes["metadata"] = metadata
    for key, value in obs.items():
        if key not in CONSUMED and value not in (None, {}, [], ""):
            span.attributes[key] = value
    return span


def read_langfuse(doc: dict[str, Any], source: str) -> Trace:
    trace_obj = as_dict(doc.get("trace")) or doc
    observations = as_list(doc.get("observations", trace_obj.get("observations")))
    trace_id = str(trace_obj.get("id") or "")
    trace = Trace(trace_id=trace_id, format="langfuse", source=source, name=str(trace_obj.get("name") or ""))
    seen: set[str] = set()
    for n, obs in enumerate(observations):
        if not isinstance(obs, dict):
            trace.problems.append(f"observation {n} is not an object: skipped")
            continue
        span = span_from_observation(obs, trace_id)
        span.span_id = span.span_id or f"observation-{n:06d}"
        trace.spans.append(span)
        seen.add(span.span_id)
    by_id = {s.span_id: s for s in trace.spans}
    for score in as_list(trace_obj.get("scores")) or as_list(doc.get("scores")):
        if isinstance(score, dict):
            target = by_id.get(str(score.get("observationId") or ""))
            (target.scores if target else trace.metadata.setdefault("scores", [])).append(_score(score))
    for key, value in trace_obj.items():  # trace-level fields, all of them (nothing is dropped silently)
        if key not in ("observations", "scores", "id", "name") and value not in (None, "", [], {}):
            trace.metadata[key] = maybe_json(value)
    return trace


def _score(score: dict[str, Any]) -> dict[str, Any]:
    first = ("name", "value", "stringValue", "dataType", "source", "comment", "observationId")
    ordered = [k for k in first if k in score] + [k for k in score if k not in first]
    return {k: score[k] for k in ordered if score.get(k) not in (None, "")}
