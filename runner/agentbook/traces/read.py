"""`read_trace(path, format="auto")`: any supported file -> span trees, the format found by looking.

`load.py` turns the file into JSON documents (or says a large OTLP document must be streamed span by
span); the first few documents decide the format; the matching reader makes spans, which are packed
as they arrive and grouped by trace id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

from .atif import is_atif, read_atif
from .langfuse import is_langfuse, read_langfuse
from .load import Documents, load_documents
from .model import Span, Trace
from .openinference import has_openinference
from .otlp import span_from_flat_map, spans_from_envelope, spans_from_list, stream_envelope
from .transcript import is_transcript, read_transcript
from .tree import build_tree
from .values import as_list

FORMATS = ("auto", "otlp", "openinference", "langfuse", "atif", "agentbook")
SPAN_FAMILY = {"otlp", "openinference"}  # one span reader serves both; attributes decide the meaning


def read_trace(path: Path | str, format: str = "auto") -> list[Trace]:
    """Every trace in the file, each with its tree built (`roots`, `orphans`, `problems`)."""
    path = Path(path)
    if format not in FORMATS:
        raise FatalError(f"unknown trace format {format!r}", hint="use one of: " + ", ".join(FORMATS))
    if not path.is_file():
        raise FatalError(f"{path}: no such trace file")
    docs = load_documents(path)
    if docs is None:  # a large single-document OTLP file
        if format not in ("auto", "otlp", "openinference"):
            raise FatalError(f"{path}: this is not {format} (it looks like otlp)",
                             hint="leave --format at auto, or pass the format the file is in")
        traces = _streamed(path)
    else:
        traces = _dispatch(docs, path, format)
        for trace in traces:
            trace.problems[:0] = docs.problems
    if not traces or not any(t.spans for t in traces):
        raise FatalError(f"{path}: no spans found", hint="the file parsed but held no spans, observations or steps")
    for trace in traces:
        for span in trace.spans:
            span.pack()
    return [build_tree(t) for t in traces]


def _streamed(path: Path) -> list[Trace]:
    import ijson

    resources: list[dict[str, Any]] = []
    try:
        with path.open("rb") as fh:
            traces = _group(stream_envelope(fh, resources), "otlp", str(path))
    except (ijson.JSONError, UnicodeDecodeError) as err:
        raise FatalError(f"{path}: not valid OTLP/JSON ({type(err).__name__}: {err})",
                         hint="the file may be truncated") from None
    for trace in traces:
        if resources:
            trace.metadata["resources"] = resources
    return traces


def _detect(docs: list[Any]) -> str:
    """The format, from the first few documents of the file ("" when none fits)."""
    doc = docs[0]
    if len(docs) > 1 and is_transcript(docs):
        return "agentbook"
    if isinstance(doc, dict):
        if "resourceSpans" in doc or "resource_spans" in doc:
            return "otlp"
        if is_langfuse(doc):
            return "langfuse"
        if is_atif(doc):
            return "atif"
        if is_transcript(docs):
            return "agentbook"
        items = doc.get("spans") if isinstance(doc.get("spans"), list) else doc.get("data")
        if isinstance(items, list) and items and _is_span(items[0]):
            return _span_family(items)
        if _is_span(doc):
            return _span_family(docs)
        if _is_attribute_map(doc):
            return "openinference" if has_openinference(doc) else "otlp"
    if isinstance(doc, list) and doc and _is_span(doc[0]):
        return _span_family(doc)
    if isinstance(doc, list) and doc and all(is_langfuse(d) for d in doc):
        return "langfuse"
    if isinstance(doc, list) and doc and all(is_atif(d) for d in doc):
        return "atif"
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "resourceSpans" in doc[0]:
        return "otlp"
    return ""


def _is_span(item: Any) -> bool:
    return isinstance(item, dict) and ("spanId" in item or "span_id" in item or (
        isinstance(item.get("context"), dict) and ("span_id" in item["context"] or "spanId" in item["context"])))


def _is_attribute_map(doc: dict[str, Any]) -> bool:
    """One span's attributes as a bare map: mostly dotted keys, some of them GenAI or OpenInference."""
    dotted = [k for k in doc if "." in str(k)]
    known = any(str(k).startswith(("gen_ai.", "llm.", "openinference.")) for k in dotted)
    return known and len(dotted) * 2 > len(doc)


def _span_family(items: list[Any]) -> str:
    sample = items[0] if isinstance(items[0], dict) else {}
    attrs = sample.get("attributes")
    flat = attrs if isinstance(attrs, dict) else {}
    return "openinference" if "span_kind" in sample or has_openinference(flat) or "openinference" in flat else "otlp"


def _describe(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = ", ".join(list(map(str, doc))[:8])
        return f"a JSON object with keys: {keys}" if keys else "an empty JSON object"
    if isinstance(doc, list):
        return f"a JSON array of {len(doc)} items"
    return f"a JSON {type(doc).__name__}"


def _dispatch(docs: Documents, path: Path, format: str) -> list[Trace]:
    found = _detect(docs.head)
    if not found:
        raise FatalError(f"{path}: unknown trace format ({_describe(docs.head[0])})",
                         hint="supported: OTLP/JSON, OpenInference/Phoenix spans, Langfuse exports, ATIF, "
                              "agentbook transcripts")
    if format != "auto" and format != found and not (format in SPAN_FAMILY and found in SPAN_FAMILY):
        raise FatalError(f"{path}: this is not {format} (it looks like {found})",
                         hint="leave --format at auto, or pass the format the file is in")
    source = str(path)
    if found in ("langfuse", "atif"):  # one trace per document (a JSON array or JSON Lines of them)
        read = read_langfuse if found == "langfuse" else read_atif
        return [read(d, source) for d in _each(docs.iterate())]
    if found == "agentbook":
        return read_transcript((d for d in docs.iterate() if isinstance(d, dict)), source)
    first = docs.head[0]
    resources: list[dict[str, Any]] = []
    traces = _group(_span_stream(docs.iterate(), resources), found, source)
    for trace in traces:
        if resources:
            trace.metadata["resources"] = resources
        if isinstance(first, dict) and "final_output" in first and len(traces) == 1:
            trace.metadata["final_output"] = first["final_output"]  # any-agent's run result
    return traces


def _each(docs: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for doc in docs:
        for item in doc if isinstance(doc, list) else [doc]:
            if isinstance(item, dict):
                yield item


def _span_stream(docs: Iterable[Any], resources: list[dict[str, Any]]) -> Iterable[Span]:
    count = 0
    for doc in docs:
        if isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc):
            spans = list(spans_from_envelope(doc, resources, count))
        elif isinstance(doc, list) and doc and isinstance(doc[0], dict) and "resourceSpans" in doc[0]:
            spans = [s for d in doc for s in spans_from_envelope(d, resources, count)]
        elif isinstance(doc, dict) and isinstance(doc.get("spans") or doc.get("data"), list):
            spans = list(spans_from_list(as_list(doc.get("spans")) or as_list(doc.get("data")), count))
        elif isinstance(doc, list):
            spans = list(spans_from_list(doc, count))
        elif isinstance(doc, dict) and _is_span(doc):
            spans = list(spans_from_list([doc], count))
        elif isinstance(doc, dict):
            spans = [span_from_flat_map(doc)]
        else:
            spans = []
        count += len(spans)
        yield from spans


def _group(spans: Iterable[Span], format: str, source: str, extra: Any = None) -> list[Trace]:
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
