"""OTLP/JSON and the span dumps near it (SDK `to_json`, any-agent, Phoenix), and OpenInference.

One span reader serves both formats: attributes decide what each span means (GenAI and OpenInference
conventions are both applied), so `openinference` only differs from `otlp` in what it detects and the
format name it reports. Shapes accepted: the OTLP envelope (one document, JSON Lines, or a list of
them), a list of spans, `{"spans"|"data": [...]}`, an object whose values are lists of spans (one
trace per key, as Phoenix test fixtures keep several traces), spans one after another, and one span's
bare attribute map.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

from ..load import Documents
from ..model import Span, Trace
from ..openinference import has_openinference
from ..otlp import span_from_flat_map, spans_from_envelope, spans_from_list
from ..values import as_dict, as_list, norm_id
from . import Reader


def is_span(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if "spanId" in item or "span_id" in item:
        return True
    ctx = item.get("context") if isinstance(item.get("context"), dict) else item.get("spanContext")
    return isinstance(ctx, dict) and ("span_id" in ctx or "spanId" in ctx)


def _is_envelope(doc: Any) -> bool:
    return isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc)


def _is_attribute_map(doc: dict[str, Any]) -> bool:
    """One span's attributes as a bare map: mostly dotted keys, some of them GenAI or OpenInference."""
    dotted = [k for k in doc if "." in str(k)]
    known = any(str(k).startswith(("gen_ai.", "llm.", "openinference.")) for k in dotted)
    return known and len(dotted) * 2 > len(doc)


def _keyed_lists(doc: dict[str, Any]) -> list[list[Any]] | None:
    """`{"name": [span, ...], ...}`: several traces kept side by side under names."""
    lists = list(doc.values())
    if lists and all(isinstance(v, list) and v and is_span(v[0]) for v in lists):
        return lists
    return None


def _span_items(doc: dict[str, Any]) -> list[Any] | None:
    """The span list of a wrapper document: `spans`, `data`, or MLflow's `data.spans` (beside `info`)."""
    for items in (doc.get("spans"), doc.get("data"), as_dict(doc.get("data")).get("spans")):
        if isinstance(items, list):
            return items
    return None


def sample_spans(docs: list[Any]) -> list[dict[str, Any]] | None:
    """A few spans of the file when it is one of the span shapes (None when it is not)."""
    doc = docs[0]
    if _is_envelope(doc) or (isinstance(doc, list) and doc and _is_envelope(doc[0])):
        return []
    if isinstance(doc, list) and doc and is_span(doc[0]):
        return doc[:5]
    if isinstance(doc, dict):
        items = _span_items(doc)
        if items and is_span(items[0]):
            return items[:5]
        if is_span(doc):
            return [d for d in docs if isinstance(d, dict)]
        keyed = _keyed_lists(doc)
        if keyed:
            return [s for lst in keyed for s in lst[:2]]
        if _is_attribute_map(doc):
            return [{"attributes": doc}]
    return None


def _openinference_flavoured(spans: list[dict[str, Any]]) -> bool:
    for span in spans:
        if not isinstance(span, dict):  # a list of spans with junk among them: the junk is not a span
            continue
        attrs = span.get("attributes")
        flat = attrs if isinstance(attrs, dict) else {}
        if "span_kind" in span or has_openinference(flat) or "openinference" in flat:
            return True
    return False


def _detect_otlp(docs: list[Any]) -> bool:
    return sample_spans(docs) is not None


def _detect_openinference(docs: list[Any]) -> bool:
    spans = sample_spans(docs)
    return bool(spans) and _openinference_flavoured(spans or [])


def _span_stream(docs: Iterable[Any], resources: list[dict[str, Any]], scopes: list[dict[str, Any]]) -> Iterator[Span]:
    count = 0
    for doc in docs:
        if _is_envelope(doc):
            spans = list(spans_from_envelope(doc, resources, count, scopes))
        elif isinstance(doc, list) and doc and _is_envelope(doc[0]):
            spans = [s for d in doc for s in spans_from_envelope(d, resources, count, scopes)]
        elif isinstance(doc, dict) and _span_items(doc):
            spans = list(spans_from_list(_span_items(doc) or [], count, resources))
            rest = {k: v for k, v in doc.items() if k not in ("spans", "data")}
            data_rest = {k: v for k, v in as_dict(doc.get("data")).items() if k != "spans"}
            if data_rest:
                rest["data"] = data_rest
            if rest and rest not in resources:  # the wrapper's own fields (any-agent's final_output, ...)
                resources.append({"file": rest})
        elif isinstance(doc, list):
            spans = list(spans_from_list(doc, count, resources))
        elif isinstance(doc, dict) and is_span(doc):
            spans = list(spans_from_list([doc], count, resources))
        elif isinstance(doc, dict) and _keyed_lists(doc):
            spans = list(spans_from_list((s for lst in _keyed_lists(doc) or [] for s in lst), count, resources))
        elif isinstance(doc, dict):
            spans = [span_from_flat_map(doc)]
        else:
            spans = []
        count += len(spans)
        yield from spans


def group(spans: Iterable[Span], format: str, source: str) -> list[Trace]:
    """Spans by trace id, traces in order of first appearance."""
    traces: dict[str, Trace] = {}
    for span in spans:
        span.pack()  # as each span arrives, so a streamed file never holds all content unpacked
        key = span.trace_id or "trace"
        trace = traces.get(key)
        if trace is None:
            trace = traces[key] = Trace(trace_id=key, format=format, source=source)
        trace.spans.append(span)
    for trace in traces.values():
        roots = [s for s in trace.spans if not s.parent_id]
        trace.name = roots[0].name if roots else (trace.spans[0].name if trace.spans else "")
    return list(traces.values())


def _reader_for(format: str) -> Any:
    def read(docs: Documents, source: str) -> list[Trace]:
        resources: list[dict[str, Any]] = []
        scopes: list[dict[str, Any]] = []
        traces = group(_span_stream(docs.iterate(), resources, scopes), format, source)
        first = docs.head[0]
        for trace in traces:
            _context(trace, resources, scopes)
            if isinstance(first, dict) and "final_output" in first and len(traces) == 1:
                trace.metadata["final_output"] = first["final_output"]  # any-agent's run result
            if isinstance(first, dict) and isinstance(first.get("info"), dict) and len(traces) == 1:
                _assessments(trace, first["info"])  # MLflow's: feedback and expectations, as scores
        return traces
    return read


def _assessments(trace: Trace, info: dict[str, Any]) -> None:
    """MLflow assessments as scores: on their span when they name one, else on the trace. The whole
    `info` is kept too (with the file's other fields, in the trace's resources)."""
    by_id = {s.span_id: s for s in trace.spans}
    for item in as_list(info.get("assessments")):
        if not isinstance(item, dict):
            continue
        verdict = as_dict(item.get("feedback")) or as_dict(item.get("expectation"))
        source = as_dict(item.get("source"))
        score = {"name": item.get("assessment_name") or item.get("name"), "value": verdict.get("value"),
                 "comment": item.get("rationale"), "source": source.get("source_type"),
                 "source_id": source.get("source_id"), "error": verdict.get("error")}
        score = {k: v for k, v in score.items() if v not in (None, "")}
        target = by_id.get(norm_id(item.get("span_id"), 16))
        (target.scores if target else trace.metadata.setdefault("scores", [])).append(score)


def stream(path: Path) -> list[Trace]:
    """A large single-document OTLP file, span by span (see `otlp_stream`)."""
    from ..otlp_stream import StreamError, stream_envelope

    resources: list[dict[str, Any]] = []
    scopes: list[dict[str, Any]] = []
    try:
        with path.open("rb") as fh:
            traces = group(stream_envelope(fh, resources, scopes), "otlp", str(path))
    except (StreamError, UnicodeDecodeError) as err:
        raise FatalError(f"{path}: not valid OTLP/JSON: {err}",
                         hint="the file may be truncated") from None
    for trace in traces:
        _context(trace, resources, scopes)
    return traces


def _context(trace: Trace, resources: list[dict[str, Any]], scopes: list[dict[str, Any]]) -> None:
    if resources:
        trace.metadata["resources"] = resources
    if scopes:
        trace.metadata["scopes"] = scopes


OPENINFERENCE = Reader(
    name="openinference", priority=80, serves=("otlp",), detect=_detect_openinference,
    read=_reader_for("openinference"), stream=stream,
    expects="OpenInference/Phoenix spans (`openinference.span.kind`, `llm.input_messages.N.*`, `span_kind`)")
OTLP = Reader(
    name="otlp", priority=90, serves=("openinference",), detect=_detect_otlp, read=_reader_for("otlp"),
    stream=stream,
    expects="OTLP/JSON (`resourceSpans[].scopeSpans[].spans[]`), a list of spans, or one span's attribute map")
