"""LangSmith run exports: runs as the LangSmith API and SDK return them (`Run` objects as JSON).

A file is a list of runs, JSON Lines of runs, an object with `runs`/`traces`, one root run with its
`child_runs` nested, or a batch as the SDK sends it (`{"post": [runs], "patch": [updates]}`: each
update is merged into its run by id, else by `dotted_order`). Each run becomes a span: `run_type` gives the kind (llm, tool, chain, retriever,
...); `inputs`/`outputs` give messages when they hold chat messages (LangChain's serialised messages,
one list per prompt, and its `generations`: `traces/langsmith_messages.py`; OpenAI-style `messages`),
tool arguments/results for tool runs (a tool message's text, linked to its call by `extra.tool_call_id`),
plain payloads otherwise; `error` fails it; tokens and cost come from
`prompt_tokens`/`completion_tokens`/`total_cost`, `extra.metadata.usage_metadata`, or the LLMResult's
`llm_output` and messages' `usage_metadata`. What no field renders is kept in the span's attributes
(`inputs`/`outputs` for the other keys, `inputs.message_fields`/`outputs.message_fields` for each
message's class, ids, metadata and unread parts). Parents come from `parent_run_id` (or nesting);
traces from `trace_id`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import langsmith_messages as lc
from ..load import Documents
from ..model import Span, Trace
from ..values import (
    as_dict,
    as_float,
    as_int,
    as_list,
    as_text,
    chat_messages,
    first,
    to_ns,
)
from . import Reader
from .spans import group

KINDS = {"llm": "llm", "chat_model": "llm", "tool": "tool", "chain": "chain", "retriever": "retrieval",
         "embedding": "other", "prompt": "chain", "parser": "chain"}
CONSUMED = {"id", "name", "run_type", "start_time", "end_time", "inputs", "outputs", "error", "parent_run_id",
            "trace_id", "child_runs", "prompt_tokens", "completion_tokens", "total_tokens", "total_cost",
            "prompt_cost", "completion_cost", "status"}


def _is_run(doc: Any) -> bool:
    return isinstance(doc, dict) and "run_type" in doc and "id" in doc and ("inputs" in doc or "dotted_order" in doc
                                                                             or "trace_id" in doc)


def _merged(posts: list[Any], patches: list[Any]) -> list[Any]:
    """The SDK's batch: runs as created, then their updates (end time, outputs, error)."""
    runs = [dict(p) if isinstance(p, dict) else p for p in posts]
    by_id = {str(r.get("id")): r for r in runs if isinstance(r, dict)}
    by_order = {str(r.get("dotted_order")): r for r in runs if isinstance(r, dict) and r.get("dotted_order")}
    for patch in patches:
        if not isinstance(patch, dict):
            continue
        target = by_id.get(str(patch.get("id"))) or by_order.get(str(patch.get("dotted_order")))
        if target is None:
            runs.append(patch)  # an update of a run not in the file: kept as a run of its own
        else:
            target.update(patch)
    return runs


def _runs_of(doc: Any) -> list[Any] | None:
    if isinstance(doc, list) and doc and _is_run(doc[0]):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("post"), list) and doc["post"] and _is_run(doc["post"][0]):
        return _merged(doc["post"], as_list(doc.get("patch")))
    if isinstance(doc, dict):
        for key in ("runs", "traces", "data"):
            items = doc.get(key)
            if isinstance(items, list) and items and _is_run(items[0]):
                return items
        if _is_run(doc):
            return [doc]
    return None


def _detect(docs: list[Any]) -> bool:
    return _runs_of(docs[0]) is not None


def _flatten(runs: list[Any], parent: str | None = None) -> Iterator[tuple[dict[str, Any], str | None]]:
    for run in runs:
        if isinstance(run, dict):
            yield run, parent
            yield from _flatten(as_list(run.get("child_runs")), str(run.get("id")))


def _usage(span: Span, run: dict[str, Any]) -> None:
    usage = as_dict(as_dict(as_dict(run.get("extra")).get("metadata")).get("usage_metadata")) or as_dict(
        as_dict(run.get("outputs")).get("usage_metadata"))
    span.input_tokens = as_int(first(run, "prompt_tokens")) or as_int(usage.get("input_tokens"))
    span.output_tokens = as_int(first(run, "completion_tokens")) or as_int(usage.get("output_tokens"))
    if span.input_tokens is None and span.output_tokens is None:
        span.input_tokens, span.output_tokens = lc.usage(run.get("outputs"))
    span.cost_usd = as_float(run.get("total_cost"))


def _span(run: dict[str, Any], parent: str | None, n: int) -> Span:
    kind = KINDS.get(str(run.get("run_type") or "").lower(), "other")
    span = Span(span_id=str(run.get("id") or f"run-{n:06d}"), parent_id=str(run.get("parent_run_id") or parent or "")
                or None, trace_id=str(run.get("trace_id") or ""), name=str(run.get("name") or run.get("run_type") or "run"),
                kind=kind, start_ns=to_ns(run.get("start_time")), end_ns=to_ns(run.get("end_time")),
                status="error" if run.get("error") else "ok" if run.get("end_time") else "unset")
    span.status_message = as_text(run.get("error"))
    _usage(span, run)
    inputs, outputs = run.get("inputs"), run.get("outputs")
    extra = as_dict(run.get("extra"))
    if kind == "tool":
        _tool(span, inputs, outputs, extra)
    else:
        _messages(span, inputs, outputs)
    span.model = str(first(as_dict(outputs), "model") or first(as_dict(extra.get("metadata")), "ls_model_name")
                     or first(as_dict(extra.get("invocation_params")), "model", "model_name")
                     or lc.model_name(outputs) or "")
    span.attributes.update({k: v for k, v in run.items() if k not in CONSUMED and v not in (None, "", [], {})})
    return span


def _tool(span: Span, inputs: Any, outputs: Any, extra: dict[str, Any]) -> None:
    """A tool run: its arguments, and its result (the text of the tool message LangChain returns, the
    message's other fields kept), linked to the model's call by `extra.tool_call_id`."""
    span.tool_name = span.name
    span.tool_call_id = str(extra.get("tool_call_id") or "")
    span.tool_args = as_text(inputs.get("input") if isinstance(inputs, dict) and len(inputs) == 1 else inputs)
    result = outputs.get("output") if isinstance(outputs, dict) and len(outputs) == 1 else outputs
    found = lc.tool_message(result)
    if found is None:
        span.tool_result = as_text(result) if outputs is not None else None
        return
    msg, kept = found
    span.tool_result = msg.content
    span.tool_call_id = span.tool_call_id or msg.tool_call_id
    span.attributes["outputs"] = kept


def _messages(span: Span, inputs: Any, outputs: Any) -> None:
    """A model or chain run's messages; the keys beside them and each message's unread fields are kept
    as attributes."""
    found_in = lc.lc_messages(inputs, "user") or lc.prompts(inputs)
    found_out = lc.lc_generations(outputs) or lc.lc_messages(outputs, "assistant")
    in_msgs = found_in[0] if found_in else chat_messages(inputs, "user")
    out_msgs = found_out[0] if found_out else chat_messages(outputs, "assistant")
    if found_in:
        _keep(span, "inputs", found_in[1], 0)
    elif in_msgs and isinstance(inputs, dict):  # request fields beside the messages (model, tools, ...)
        rest = {k: v for k, v in inputs.items() if k not in ("messages", "input") and v not in (None, "", [], {})}
        if rest:
            span.attributes["inputs"] = rest
    span.input_messages = in_msgs or []
    span.output_messages = out_msgs or []
    if inputs not in (None, {}) and not in_msgs:
        span.input_text = as_text(inputs)
    if found_out:
        _keep(span, "outputs", found_out[1], len(span.input_messages))
    elif outputs not in (None, {}) and not out_msgs:
        span.output_text = as_text(outputs)
    elif out_msgs and isinstance(outputs, dict) and "choices" in outputs:
        span.attributes["outputs"] = outputs  # ids, usage, the choices' extra fields: verbatim


def _keep(span: Span, side: str, kept: dict[str, Any], first_number: int) -> None:
    """The keys beside the messages, and each message's unread fields under the number of its file
    in `messages/` (output messages are numbered after the input ones)."""
    if "rest" in kept:
        span.attributes[side] = kept["rest"]
    if "message_fields" in kept:
        span.attributes[f"{side}.message_fields"] = [
            {**fields, "message": fields["message"] + first_number} for fields in kept["message_fields"]]


def _read(docs: Documents, source: str) -> list[Trace]:
    def spans() -> Iterator[Span]:
        n = 0
        for doc in docs.iterate():
            for run, parent in _flatten(_runs_of(doc) or ([doc] if isinstance(doc, dict) else [])):
                yield _span(run, parent, n)
                n += 1
    traces = group(spans(), "langsmith", source)
    for trace in traces:
        trace.name = next((s.name for s in trace.spans if not s.parent_id), trace.name)
    return traces


READER = Reader(name="langsmith", priority=30, detect=_detect, read=_read,
                expects="LangSmith runs (`id`, `run_type`, `inputs`, `outputs`, `parent_run_id`/`child_runs`)")
