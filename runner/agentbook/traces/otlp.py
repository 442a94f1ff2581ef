"""OTLP/JSON and the span-dump shapes near it -> spans.

Covers the canonical envelope (`resourceSpans[].scopeSpans[].spans[]`, camelCase, typed values,
integer enums), its JSON Lines form (one TracesData per line, as the collector's file exporter writes),
snake_case SDK dumps (`context.span_id`, `parent.span_id`, integer ids, as the Python SDK's `to_json`
and any-agent write), the JS SDK's ReadableSpan as `JSON.stringify` writes it (`spanContext`,
`parentSpanContext` or `parentSpanId`, times as `[seconds, nanoseconds]`), Phoenix span JSON (`span_kind`, `parent_id`, `status_code`), and a bare attribute
map of one span. Attributes are then read with the GenAI, OpenInference, Vercel AI SDK and MLflow
conventions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .adk import apply_adk, has_adk
from .attrs import otlp_attributes
from .genai import apply_genai, has_genai
from .mlflow import apply_mlflow, has_mlflow
from .model import Span
from .openinference import apply_openinference, has_openinference
from .values import as_dict, as_list, as_text, first, norm_id, to_ns
from .vercel import apply_vercel, has_vercel

ERROR_CODES = {"2", "error", "status_code_error"}
OK_CODES = {"1", "ok", "status_code_ok"}
# Fields span_from_dict reads (in any of their spellings); any other field is kept as `span.<field>`.
SPAN_FIELDS = {"spanId", "span_id", "traceId", "trace_id", "context", "spanContext", "parentSpanContext", "parentSpanId", "parent_span_id", "parent_id",
               "parentId", "parent", "name", "status", "status_code", "statusCode", "status_message", "startTimeUnixNano",
               "start_time_unix_nano", "start_time", "startTime", "endTimeUnixNano", "end_time_unix_nano", "end_time",
               "endTime", "attributes", "events", "kind", "span_kind", "resource"}
OTEL_KINDS = {"1": "internal", "2": "server", "3": "client", "4": "producer", "5": "consumer"}


def _status(d: dict[str, Any]) -> tuple[str, str]:
    status = d.get("status")
    if status is None and "status_code" not in d and "statusCode" not in d and "status_message" not in d:
        return "unset", ""  # most spans of an OTLP file: nothing to read
    if isinstance(status, dict):
        code = first(status, "code", "status_code", "statusCode")
        message = first(status, "message", "description") or ""
    else:
        code, message = first(d, "status_code", "statusCode") or status, first(d, "status_message") or ""
    text = str(code if code is not None else "").lower().replace("spanstatuscode.", "").replace("statuscode.", "")
    state = "error" if text in ERROR_CODES else "ok" if text in OK_CODES else "unset"
    return state, str(message)


def _parent(d: dict[str, Any]) -> Any:
    parent = first(d, "parentSpanId", "parent_span_id", "parent_id", "parentId")
    for key in ("parent", "parentSpanContext"):
        if parent is None and isinstance(d.get(key), dict):
            parent = first(d[key], "span_id", "spanId")
    return parent


def _time(value: Any) -> int | None:
    """A timestamp in any spelling, including the JS SDK's HrTime `[seconds, nanoseconds]`."""
    if isinstance(value, list) and len(value) == 2 and all(type(x) is int and x >= 0 for x in value):
        return to_ns(value[0] * 1_000_000_000 + value[1]) if value[0] else None
    return to_ns(value)


def _events(raw: Any) -> list[dict[str, Any]]:
    out = []
    for ev in as_list(raw):
        if isinstance(ev, dict):
            out.append({"name": str(ev.get("name", "")),
                        "time_ns": _time(first(ev, "timeUnixNano", "time_unix_nano", "timestamp", "time")),
                        "attributes": otlp_attributes(ev.get("attributes"))})
    return out


def span_from_dict(d: dict[str, Any], index: int) -> Span:
    """One span in any of the shapes above, attributes still raw (see `interpret`)."""
    if "spanId" in d:  # canonical OTLP/JSON: read its spellings directly (most spans of large files)
        span_id, trace_id = norm_id(d["spanId"], 16), norm_id(d.get("traceId"), 32)
        start, end = d.get("startTimeUnixNano"), d.get("endTimeUnixNano")
    else:
        ctx = as_dict(d.get("context")) or as_dict(d.get("spanContext"))
        span_id = norm_id(first(d, "span_id") or first(ctx, "span_id", "spanId"), 16)
        trace_id = norm_id(first(d, "traceId", "trace_id") or first(ctx, "trace_id", "traceId"), 32)
        start = first(d, "startTimeUnixNano", "start_time_unix_nano", "start_time", "startTime")
        end = first(d, "endTimeUnixNano", "end_time_unix_nano", "end_time", "endTime")
    status, message = _status(d)
    attributes = otlp_attributes(d.get("attributes"))
    events = d.get("events")
    span = Span(span_id or f"span-{index:06d}", norm_id(_parent(d), 16) or None, trace_id,
                str(d.get("name") or ""), status=status, status_message=message,
                start_ns=_time(start), end_ns=_time(end),
                attributes=attributes, events=_events(events) if events else [])
    kind = d.get("kind")
    if kind is not None and kind != "" and not (type(kind) is int and kind in (0, 1)):  # 0, 1: unspecified, internal
        kind = str(kind).lower().replace("spankind.", "").replace("span_kind_", "")
        kind = OTEL_KINDS.get(kind, kind)
        if kind and kind not in ("internal", "unspecified", "0"):
            attributes.setdefault("otel.span_kind", kind)
    if d.get("span_kind"):  # Phoenix's spelling of the OpenInference kind
        attributes.setdefault("openinference.span.kind", d["span_kind"])
    for key in d.keys() - SPAN_FIELDS and [k for k in d if k not in SPAN_FIELDS]:
        value = d[key]  # links, trace state, flags, dropped counts, ...: kept, not dropped
        if value not in (None, "", [], {}, 0):
            attributes[f"span.{key}"] = value
    return span


def interpret(span: Span) -> Span:
    """Read GenAI and OpenInference attributes into fields; exceptions become the status message; a
    Logfire span named by its message template is named by the formatted message instead."""
    attrs = span.attributes  # one dict the rules below change in place (looked up once: every span comes here)
    if has_genai(attrs):
        apply_genai(span)
    if has_openinference(attrs):
        apply_openinference(span)
    if has_vercel(attrs):
        apply_vercel(span)
    if has_mlflow(attrs):
        apply_mlflow(span)
    if has_adk(attrs):
        apply_adk(span)
    message = attrs.get("logfire.msg")
    if isinstance(message, str) and message.strip() and "{" in span.name and \
            span.name == attrs.get("logfire.msg_template"):
        span.name = message  # Logfire names a span by its template; logfire.msg_template keeps that
    for event in span.events:
        if event.get("name") == "exception":
            found = event.get("attributes") or {}
            detail = ": ".join(str(found[k]) for k in ("exception.type", "exception.message") if found.get(k))
            span.status_message = span.status_message or detail
    if not span.name:
        span.name = "span"
    return span


def note_scope(ss: dict[str, Any], scopes: list[dict[str, Any]]) -> None:
    """The instrumentation scope of a scopeSpans entry, kept once per trace (name, version, attributes)."""
    scope = as_dict(first(ss, "scope", "instrumentationLibrary"))
    entry = {k: (otlp_attributes(v) if k == "attributes" else v) for k, v in scope.items() if v not in (None, "", [])}
    if ss.get("schemaUrl"):
        entry["schemaUrl"] = ss["schemaUrl"]
    if entry and entry not in scopes:
        scopes.append(entry)


def note_resource(rs: dict[str, Any], resources: list[dict[str, Any]]) -> None:
    resource = otlp_attributes(as_dict(rs.get("resource")).get("attributes"))
    if resource and resource not in resources:
        resources.append(resource)


def spans_from_envelope(doc: dict[str, Any], resources: list[dict[str, Any]], start: int,
                        scopes: list[dict[str, Any]] | None = None) -> Iterator[Span]:
    """Spans of one TracesData (`resourceSpans`, or the snake_case `resource_spans`)."""
    n = start
    scopes = [] if scopes is None else scopes
    for rs in as_list(first(doc, "resourceSpans", "resource_spans")):
        note_resource(as_dict(rs), resources)
        for ss in as_list(first(as_dict(rs), "scopeSpans", "scope_spans", "instrumentationLibrarySpans")):
            note_scope(as_dict(ss), scopes)
            for raw in as_list(as_dict(ss).get("spans")):
                if isinstance(raw, dict):
                    yield interpret(span_from_dict(raw, n))
                    n += 1


def spans_from_list(items: Iterable[Any], start: int = 0,
                    resources: list[dict[str, Any]] | None = None) -> Iterator[Span]:
    """Spans given one by one (SDK dumps repeat their resource on each span: it is kept once)."""
    for n, raw in enumerate(items, start):
        if isinstance(raw, dict):
            if resources is not None and isinstance(raw.get("resource"), dict):
                note_resource(raw, resources)
            yield interpret(span_from_dict(raw, n))


def span_from_flat_map(attrs: dict[str, Any]) -> Span:
    """A file that is just one span's attribute map (as some test fixtures are)."""
    span = Span(span_id="span-000000", attributes=otlp_attributes(attrs))
    for key in ("input", "output"):  # raw request/response bodies some dumps add beside the attributes
        if key in span.attributes and not has_openinference(span.attributes):
            span.attributes[f"raw.{key}"] = span.attributes.pop(key)
    interpret(span)
    if span.kind == "tool":  # a tool execution span's dump keeps its arguments and result beside the attributes
        if span.tool_args is None and "raw.input" in span.attributes:
            span.tool_args = as_text(span.attributes.pop("raw.input"))
        if span.tool_result is None and "raw.output" in span.attributes:
            span.tool_result = as_text(span.attributes.pop("raw.output"))
    if span.name == "span":
        span.name = " ".join(x for x in (span.kind, span.tool_name or span.model) if x)
    return span
