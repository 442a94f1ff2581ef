"""W&B Weave calls: the client's write-ahead log, or call records as its API returns them.

The log (`~/.weave/wal/<entity>/<project>/*.jsonl`, written when `WEAVE_ENABLE_WAL` is on, and what
the client sends its server) holds one request per line: `{"type": "call_start", "req": {"start":
{...}}}`, `call_end` (`{"end": {...}}`), and `obj_create` / `file_create` / `table_create` for the ops
and objects the calls refer to. A call's start and end are merged by call id into the shape the API
returns (`id`, `trace_id`, `parent_id`, `op_name`, `display_name`, `started_at`, `ended_at`, `inputs`,
`output`, `exception`, `summary`, `attributes`), which is also read directly (a list of calls, or one
per line).

A call is a span: named by its display name or op (`weave:///entity/project/op/NAME:digest`), its kind
from `attributes.weave.kind` or its content (OpenAI chat shapes in and out make it a model call), an
exception fails it. Token counts come from the completion's `usage`, else from `summary.usage` (per
model, and summed over the call and everything under it): a call's own share is its sum less its
children's in the file, so a root exported alone (the calls table lists roots) carries the trace's
tokens, and a parent of model calls in the file carries none of theirs. An op with no kind whose own
share made model requests is a model call. Fields no rule reads stay attributes; the object and file records are kept whole in
the trace's metadata, so nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..load import Documents
from ..model import Span, Trace
from ..values import as_dict, as_int, as_text, chat_messages, maybe_json, to_ns
from . import Reader
from .common import keep_skipped
from .spans import group

RECORDS = {"call_start", "call_end", "obj_create", "file_create", "table_create"}
KINDS = {"agent": "agent", "llm": "llm", "tool": "tool", "chain": "chain", "retriever": "retrieval",
         "retrieval": "retrieval", "guardrail": "other", "scorer": "other"}
READ = {"id", "trace_id", "parent_id", "started_at", "ended_at", "display_name", "inputs", "output", "exception"}


def _is_record(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("type"), str) and item["type"] in RECORDS \
        and isinstance(item.get("req"), dict)


def _is_call(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("op_name"), str) and "trace_id" in item and "id" in item


def _items(doc: Any) -> list[Any]:
    return doc if isinstance(doc, list) else [doc]


def _detect(docs: list[Any]) -> bool:
    items = [item for doc in docs for item in _items(doc)[:5]]
    return bool(items) and any(_is_record(i) or _is_call(i) for i in items) and all(
        _is_record(i) or _is_call(i) or not isinstance(i, dict) for i in items)


def _op(call: dict[str, Any]) -> str:
    """`weave:///entity/project/op/NAME:digest` -> NAME (any other op name as it is)."""
    name = str(call.get("op_name") or "")
    if name.startswith("weave:///") and "/op/" in name:
        return name.rsplit("/op/", 1)[1].rsplit(":", 1)[0]
    return name


def _exception(value: Any) -> str:
    error = maybe_json(value)
    if isinstance(error, dict):
        return ": ".join(as_text(error[k]) for k in ("type", "message") if error.get(k)) or as_text(value)
    return as_text(value)


def _usage(call: dict[str, Any]) -> tuple[int, int, int]:
    """Requests, input and output tokens in `summary.usage` (per model), summed over the models."""
    totals = [0, 0, 0]
    for usage in as_dict(as_dict(call.get("summary")).get("usage")).values():
        usage = as_dict(usage)
        for i, keys in enumerate((("requests",), ("prompt_tokens", "input_tokens"),
                                  ("completion_tokens", "output_tokens"))):
            totals[i] += next((n for n in (as_int(usage.get(k)) for k in keys) if n is not None), 0)
    return totals[0], totals[1], totals[2]


def _own_usage(calls: list[dict[str, Any]]) -> dict[int, tuple[int, int, int]]:
    """Each call's own share of its `summary.usage` (its sum less its children's), by position; calls
    with no share left out."""
    ids = {str(c.get("id")): n for n, c in enumerate(calls) if c.get("id")}
    sums = [_usage(c) for c in calls]
    own = [list(u) for u in sums]
    for n, call in enumerate(calls):
        parent = ids.get(str(call.get("parent_id") or ""))
        if parent is not None and parent != n:
            own[parent] = [a - b for a, b in zip(own[parent], sums[n])]
    return {n: (u[0], u[1], u[2]) for n, u in enumerate(own) if u[1] > 0 or u[2] > 0}


def _span(call: dict[str, Any], n: int, usage: tuple[int, int, int] | None = None) -> Span:
    weave = as_dict(as_dict(call.get("attributes")).get("weave"))
    span = Span(str(call.get("id") or f"span-{n:06d}"), str(call.get("parent_id") or "") or None,
                str(call.get("trace_id") or ""), str(call.get("display_name") or _op(call) or "call"),
                kind=KINDS.get(str(weave.get("kind") or ""), "other"),
                start_ns=to_ns(call.get("started_at")), end_ns=to_ns(call.get("ended_at")))
    if call.get("exception"):
        span.status, span.status_message = "error", _exception(call["exception"])
    elif call.get("ended_at"):
        span.status = "ok"
    inputs, output = call.get("inputs"), call.get("output")
    if span.kind == "tool":
        span.tool_name = _op(call)
        span.tool_args = None if inputs is None else as_text(inputs)
        span.tool_result = None if output is None else as_text(output)
    else:
        _content(span, inputs, output)
    if usage is not None and span.input_tokens is None and span.output_tokens is None:
        span.input_tokens, span.output_tokens = usage[1] or None, usage[2] or None
        if usage[0] > 0 and span.kind == "other":
            span.kind = "llm"
    span.attributes.update({k: v for k, v in call.items() if k not in READ and v not in (None, "", [], {})})
    if call.get("exception"):
        span.attributes["exception"] = call["exception"]  # its traceback, whole
    return span


def _content(span: Span, inputs: Any, output: Any) -> None:
    """Chat messages when the inputs or the output hold them (a model call: its model and token counts
    from the completion, which stays an attribute whole); otherwise the values as text."""
    in_msgs = chat_messages(inputs, "user") if inputs is not None else None
    out_msgs = chat_messages(output, "assistant") if output is not None else None
    if in_msgs:
        span.input_messages += in_msgs
        rest = {k: v for k, v in as_dict(inputs).items() if k not in ("messages", "input")}
        if rest:
            span.attributes["inputs"] = rest
    elif inputs not in (None, {}):
        span.input_text = as_text(inputs)
    if out_msgs:
        span.output_messages += out_msgs
        if isinstance(output, dict):
            span.attributes["output"] = output  # ids, usage, ...: verbatim
            span.model = str(output.get("model") or "")
            usage = as_dict(output.get("usage"))
            span.input_tokens = as_int(usage.get("prompt_tokens", usage.get("input_tokens")))
            span.output_tokens = as_int(usage.get("completion_tokens", usage.get("output_tokens")))
    elif output is not None:
        span.output_text = as_text(output)
    if (in_msgs or out_msgs) and span.kind == "other":
        span.kind = "llm"


def _calls(docs: Documents, objects: list[Any], skipped: list[Any]) -> Iterator[dict[str, Any]]:
    """Every call, its start and end merged (in order of the first record of each)."""
    calls: dict[str, dict[str, Any]] = {}
    for doc in docs.iterate():
        for item in _items(doc):
            if _is_record(item) and item["type"] in ("call_start", "call_end"):
                part = as_dict(item["req"].get("start" if item["type"] == "call_start" else "end"))
                call = calls.setdefault(str(part.get("id") or f"record-{len(calls)}"), {})
                call.update({k: v for k, v in part.items() if v is not None or k not in call})
            elif _is_record(item):
                objects.append(item)
            elif _is_call(item):
                calls[str(item.get("id") or f"record-{len(calls)}")] = item
            else:
                skipped.append(item)
    yield from calls.values()


def _read(docs: Documents, source: str) -> list[Trace]:
    objects: list[Any] = []
    skipped: list[Any] = []
    calls = list(_calls(docs, objects, skipped))
    usage = _own_usage(calls)
    traces = group((_span(c, n, usage.get(n)) for n, c in enumerate(calls)), "weave", source)
    if objects and traces:  # the ops' code and the objects the calls refer to
        traces[0].metadata["weave_objects"] = objects
    for trace in traces:
        unended = [s.span_id for s in trace.spans if s.end_ns is None]
        if unended:
            trace.problems.append(f"{len(unended)} call(s) have no end in this file (still running, or the "
                                  f"log was cut): {', '.join(unended[:5])}")
    return keep_skipped(traces, skipped)


READER = Reader(name="weave", priority=36, detect=_detect, read=_read,
                expects="W&B Weave calls (its write-ahead log: `type` call_start / call_end with `req`; or "
                        "call records with `op_name`, `trace_id`, `inputs`, `output`)")
