"""OpenAI Agents SDK traces, as its exporter sends them (`{"data": [item, ...]}`) or a processor
writes them (one item per line): each item is `Trace.export()` (`object: "trace"`, `workflow_name`,
`group_id`, `metadata`) or `Span.export()` (`object: "trace.span"`, `id`, `trace_id`, `parent_id`,
`started_at`, `ended_at`, `error`, and `span_data` typed by `type`).

Span types: `agent` (name, handoffs, tools, output type), `generation` (model, input and output
messages, usage), `response` (the Responses API id, and the response when it was kept), `function`
(a tool call: input, output, MCP data), `handoff` (from and to agent), `guardrail` (triggered),
`mcp_tools`, `custom` (the SDK's own `task` and `turn` steps are custom spans too: read as chain
spans named by the run, or by turn number and agent), `transcription`, `speech`. A span's `error`
fails it. Fields not read here stay attributes, so nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..load import Documents
from ..model import Span, Trace
from ..values import as_dict, as_int, as_text, chat_messages, to_ns
from . import Reader
from .common import keep_skipped
from .spans import group

OBJECTS = {"trace", "trace.span"}
KINDS = {"agent": "agent", "generation": "llm", "response": "llm", "function": "tool", "handoff": "chain",
         "guardrail": "other", "custom": "other", "mcp_tools": "other", "transcription": "llm", "speech": "llm",
         "speech_group": "chain"}
READ = {"object", "id", "trace_id", "parent_id", "started_at", "ended_at", "error", "span_data"}


def _is_item(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("object"), str) and doc["object"] in OBJECTS


def _items(doc: Any) -> list[Any]:
    """The items of one document: `{"data": [...]}`, a list, or the item itself."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return doc["data"]
    return doc if isinstance(doc, list) else [doc]


def _detect(docs: list[Any]) -> bool:
    items = [item for doc in docs for item in _items(doc)[:5]]
    return bool(items) and any(_is_item(i) for i in items) and all(
        _is_item(i) or not isinstance(i, dict) for i in items)


def _span(item: dict[str, Any], n: int) -> Span:
    data = as_dict(item.get("span_data"))
    kind = str(data.get("type") or "")
    error = item.get("error")
    span = Span(span_id=str(item.get("id") or f"span-{n:06d}"), parent_id=str(item.get("parent_id") or "") or None,
                trace_id=str(item.get("trace_id") or ""), kind=KINDS.get(kind, "other"),
                name=" ".join(x for x in (kind, str(data.get("name") or data.get("model") or "")) if x) or "span",
                start_ns=to_ns(item.get("started_at")), end_ns=to_ns(item.get("ended_at")),
                status="error" if error else "ok" if item.get("ended_at") else "unset")
    if error:
        err = as_dict(error)
        detail = as_dict(err.get("data")).get("error")  # a tool's own error, under the SDK's generic message
        span.status_message = ": ".join(as_text(x) for x in (err.get("message") or error, detail) if x)
        if err.get("data") is not None:
            span.attributes["error.data"] = err["data"]
    rest = dict(data)
    rest.pop("type", None)
    if kind == "function":
        span.tool_name = str(rest.pop("name", "") or "")
        span.tool_args = None if rest.get("input") is None else as_text(rest.pop("input"))
        span.tool_result = None if rest.get("output") is None else as_text(rest.pop("output"))
    elif kind in ("generation", "response"):
        _generation(span, rest)
    elif kind == "custom" and as_dict(rest.get("data")).get("sdk_span_type") in ("task", "turn"):
        _task_or_turn(span, as_dict(rest["data"]))
    elif kind == "handoff":
        span.name = f"handoff {rest.get('from_agent') or '?'} -> {rest.get('to_agent') or '?'}"
    elif kind == "guardrail" and rest.get("triggered"):
        span.status, span.status_message = "error", f"guardrail {data.get('name') or ''} triggered".replace("  ", " ")
    span.attributes.update({k: v for k, v in rest.items() if v not in (None, "", [], {})})
    span.attributes.update({k: v for k, v in item.items() if k not in READ and v not in (None, "", [], {})})
    return span


def _task_or_turn(span: Span, data: dict[str, Any]) -> None:
    """The SDK's own steps, exported as custom spans: `task` (one Runner run, its usage summed) and
    `turn` (one pass of the agent loop: a model call and the tools it asked for)."""
    span.kind = "chain"
    if data["sdk_span_type"] == "task":
        span.name = f"task {as_text(data.get('name') or '')}".strip()
    else:
        span.name = f"turn {as_text(data.get('turn') or '')} {as_text(data.get('agent_name') or '')}".strip()


def _generation(span: Span, rest: dict[str, Any]) -> None:
    """Model, messages and usage of a generation (or of a response span that kept its response)."""
    span.model = str(rest.pop("model", "") or "")
    usage = as_dict(rest.get("usage"))
    span.input_tokens = as_int(usage.get("input_tokens", usage.get("prompt_tokens")))
    span.output_tokens = as_int(usage.get("output_tokens", usage.get("completion_tokens")))
    for key, role, target in (("input", "user", span.input_messages), ("output", "assistant", span.output_messages)):
        value = rest.get(key)
        messages = chat_messages(value, role) if value is not None else None
        if messages:
            target += messages
            rest.pop(key)
    response = as_dict(rest.get("response"))
    if response:
        span.model = span.model or str(response.get("model") or "")


def _read(docs: Documents, source: str) -> list[Trace]:
    workflows: dict[str, dict[str, Any]] = {}
    skipped: list[Any] = []

    def spans() -> Iterator[Span]:
        n = 0
        for doc in docs.iterate():
            for item in _items(doc):
                if isinstance(item, dict) and item.get("object") == "trace":
                    workflows[str(item.get("id") or "")] = item
                elif isinstance(item, dict):
                    yield _span(item, n)
                    n += 1
                else:
                    skipped.append(item)
    traces = group(spans(), "openai-agents", source)
    for trace in traces:
        workflow = workflows.pop(trace.trace_id, None)
        if workflow:
            trace.name = str(workflow.get("workflow_name") or trace.name)
            trace.metadata["trace"] = workflow
    if workflows and traces:  # traces whose spans are not in the file: kept, and said
        traces[0].metadata["traces_without_spans"] = list(workflows.values())
        traces[0].problems.append(f"{len(workflows)} trace record(s) have no spans in this file: kept in trace.json")
    return keep_skipped(traces, skipped)


READER = Reader(name="openai-agents", priority=35, detect=_detect, read=_read,
                expects="OpenAI Agents SDK trace export (`object`: `trace` / `trace.span`, `span_data`; "
                        "`{\"data\": [...]}` or one item per line)")
