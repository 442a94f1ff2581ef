"""MLflow tracing attributes -> span fields.

MLflow stores every span attribute JSON-encoded (`"mlflow.spanType": "\\"LLM\\""`): the kind in
`mlflow.spanType` (LLM, CHAT_MODEL, TOOL, AGENT, RETRIEVER, CHAIN, EMBEDDING, PARSER, RERANKER, ...),
the function's arguments and return value in `mlflow.spanInputs` / `mlflow.spanOutputs` (chat
requests, OpenAI chat completions, or anything), token counts in `mlflow.chat.tokenUsage`, and the
trace's request id in `mlflow.traceRequestId`. Values are decoded; what is read becomes span fields,
and the rest stays an attribute, decoded.
"""

from __future__ import annotations

import json
from typing import Any

from .model import Span
from .values import as_dict, as_int, as_text, chat_messages

KINDS = {"LLM": "llm", "CHAT_MODEL": "llm", "TOOL": "tool", "AGENT": "agent", "RETRIEVER": "retrieval",
         "RERANKER": "retrieval", "CHAIN": "chain", "EMBEDDING": "other", "PARSER": "other"}


def has_mlflow(attrs: dict[str, Any]) -> bool:
    return "mlflow.spanType" in attrs or "mlflow.spanInputs" in attrs or "mlflow.traceRequestId" in attrs


def _decoded(value: Any) -> Any:
    """An attribute as MLflow wrote it (JSON text) back to its value; text that is not JSON stays."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def apply_mlflow(span: Span) -> None:
    a = span.attributes
    for key in list(a):
        if key.startswith("mlflow."):
            a[key] = _decoded(a[key])
    kind = str(a.pop("mlflow.spanType", "") or "").upper()
    if kind in KINDS:
        span.kind = KINDS[kind]
    elif kind:
        a["mlflow.spanType"] = kind
    usage = as_dict(a.get("mlflow.chat.tokenUsage"))
    if usage and span.input_tokens is None and span.output_tokens is None:
        span.input_tokens, span.output_tokens = as_int(usage.get("input_tokens")), as_int(usage.get("output_tokens"))
        a.pop("mlflow.chat.tokenUsage")
    inputs, outputs = a.pop("mlflow.spanInputs", None), a.pop("mlflow.spanOutputs", None)
    if span.kind == "tool":
        span.tool_name = span.tool_name or span.name
        span.tool_args = None if inputs is None else as_text(inputs)
        span.tool_result = None if outputs is None else as_text(outputs)
        return
    _content(span, inputs, outputs)


def _content(span: Span, inputs: Any, outputs: Any) -> None:
    """Chat messages when the inputs or outputs hold them (request fields beside them, and a whole
    completion, stay attributes); otherwise the values as text."""
    in_msgs = chat_messages(inputs, "user") if inputs is not None else None
    out_msgs = chat_messages(outputs, "assistant") if outputs is not None else None
    if in_msgs:
        span.input_messages += in_msgs
        rest = {k: v for k, v in inputs.items() if k not in ("messages", "input")} if isinstance(inputs, dict) else {}
        if rest:
            span.attributes["mlflow.spanInputs"] = rest
    elif inputs is not None:
        span.input_text = as_text(inputs)
    if out_msgs:
        span.output_messages += out_msgs
        if isinstance(outputs, dict) and ("choices" in outputs or "generations" in outputs):
            span.attributes["mlflow.spanOutputs"] = outputs  # ids, usage, filter results: verbatim
            span.model = span.model or str(outputs.get("model") or "")
            _completion_usage(span, as_dict(outputs.get("usage")))
    elif outputs is not None:
        span.output_text = as_text(outputs)


def _completion_usage(span: Span, usage: dict[str, Any]) -> None:
    """Token counts from an OpenAI completion's `usage` when MLflow recorded none of its own (a traced
    function, not an autologged client, sets no `mlflow.chat.tokenUsage`); the usage stays in the output."""
    if span.input_tokens is None and span.output_tokens is None:
        span.input_tokens = as_int(usage.get("prompt_tokens", usage.get("input_tokens")))
        span.output_tokens = as_int(usage.get("completion_tokens", usage.get("output_tokens")))
