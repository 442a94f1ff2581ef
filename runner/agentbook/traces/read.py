"""`read_trace(path, format="auto")`: any supported file -> span trees, the format found by looking.

Small files are parsed whole (JSON, or JSON Lines when that fails); a large single-document OTLP file
is streamed span by span so memory stays near the size of what is kept, not of the parse tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

from .atif import is_atif, read_atif
from .langfuse import is_langfuse, read_langfuse
from .model import Span, Trace
from .openinference import has_openinference
from .otlp import span_from_flat_map, spans_from_envelope, spans_from_list, stream_envelope
from .transcript import is_transcript, read_transcript
from .tree import build_tree

FORMATS = ("auto", "otlp", "openinference", "langfuse", "atif", "agentbook")
STREAM_BYTES = 8 * 1024 * 1024  # above this, a single-document OTLP file is streamed
SPAN_FAMILY = {"otlp", "openinference"}  # one span reader serves both; attributes decide the meaning


def read_trace(path: Path | str, format: str = "auto") -> list[Trace]:
    """Every trace in the file, each with its tree built (`roots`, `orphans`, `problems`)."""
    path = Path(path)
    if format not in FORMATS:
        raise FatalError(f"unknown trace format {format!r}", hint="use one of: " + ", ".join(FORMATS))
    if not path.is_file():
        raise FatalError(f"{path}: no such trace file")
    if format in ("auto", "otlp", "openinference") and _is_big_envelope(path):
        traces = _streamed(path)
    else:
        docs, problems = _load(path)
        traces = _dispatch(docs, path, format)
        for trace in traces:
            trace.problems[:0] = problems
    if not traces or not any(t.spans for t in traces):
        raise FatalError(f"{path}: no spans found", hint="the file parsed but held no spans, observations or steps")
    for trace in traces:
        for span in trace.spans:
            span.pack()
    return [build_tree(t) for t in traces]


def _is_big_envelope(path: Path) -> bool:
    if path.stat().st_size < STREAM_BYTES:
        return False
    with path.open("rb") as fh:
        head = fh.read(4096)
        fh.seek(-1, 2)
        tail = fh.read(1)
    first_line = head.split(b"\n", 1)
    return head.lstrip()[:1] == b"{" and b'"resourceSpans"' in head and (len(first_line) == 1 or tail in b"}\n ")


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
        trace.metadata["resources"] = resources
    return traces


def _load(path: Path) -> tuple[list[Any], list[str]]:
    """The file as one JSON document, or as JSON Lines (a torn last line is reported, not fatal)."""
    raw = path.read_bytes()
    if not raw.strip():
        raise FatalError(f"{path}: the file is empty", hint="trace files are JSON or JSON Lines")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FatalError(f"{path}: not a text trace file (byte {err.start} is not UTF-8)",
                         hint="trace files are JSON or JSON Lines") from None
    try:
        return [json.loads(text)], []
    except json.JSONDecodeError as whole_err:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        return _load_lines(path, lines, whole_err)


def _load_lines(path: Path, lines: list[tuple[int, str]],
                whole_err: json.JSONDecodeError) -> tuple[list[Any], list[str]]:
    docs: list[Any] = []
    problems: list[str] = []
    for pos, (n, line) in enumerate(lines):
        try:
            docs.append(json.loads(line))
        except json.JSONDecodeError as err:
            if pos == 0 or (len(lines) == 1):
                raise FatalError(f"not valid JSON or JSON Lines: {whole_err.msg}",
                                 location=f"{path}:{whole_err.lineno}:{whole_err.colno}",
                                 hint="the file may be truncated" if whole_err.pos >= len(whole_err.doc) - 2
                                 else "fix the JSON at that position") from None
            if pos == len(lines) - 1:
                problems.append(f"line {n} is not complete JSON ({err.msg}): skipped, the file may be truncated")
                continue
            raise FatalError(f"line {n} is not valid JSON: {err.msg}", location=f"{path}:{n}:{err.colno}") from None
    return docs, problems


def _detect(docs: list[Any]) -> str:
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


def _dispatch(docs: list[Any], path: Path, format: str) -> list[Trace]:
    found = _detect(docs)
    if not found:
        raise FatalError(f"{path}: unknown trace format ({_describe(docs[0])})",
                         hint="supported: OTLP/JSON, OpenInference/Phoenix spans, Langfuse exports, ATIF, "
                              "agentbook transcripts")
    if format != "auto" and format != found and not (format in SPAN_FAMILY and found in SPAN_FAMILY):
        raise FatalError(f"{path}: this is not {format} (it looks like {found})",
                         hint="leave --format at auto, or pass the format the file is in")
    source = str(path)
    if found == "langfuse":
        return [read_langfuse(docs[0], source)]
    if found == "atif":
        return [read_atif(docs[0], source)]
    if found == "agentbook":
        return read_transcript([d for d in docs if isinstance(d, dict)], source)
    return _group(_span_stream(docs), found, source, docs)


def _span_stream(docs: list[Any]) -> Iterable[Span]:
    resources: list[dict[str, Any]] = []
    count = 0
    for doc in docs:
        if isinstance(doc, dict) and ("resourceSpans" in doc or "resource_spans" in doc):
            spans = list(spans_from_envelope(doc, resources, count))
        elif isinstance(doc, list) and doc and isinstance(doc[0], dict) and "resourceSpans" in doc[0]:
            spans = [s for d in doc for s in spans_from_envelope(d, resources, count)]
        elif isinstance(doc, dict) and isinstance(doc.get("spans") or doc.get("data"), list):
            spans = list(spans_from_list(doc.get("spans") or doc.get("data") or [], count))
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


def _group(spans: Iterable[Span], format: str, source: str, docs: list[Any] | None = None) -> list[Trace]:
    """Spans by trace id, traces in order of first appearance."""
    traces: dict[str, Trace] = {}
    for span in spans:
        span.pack()  # as each span arrives, so a streamed file never holds all content unpacked
        key = span.trace_id or "trace"
        trace = traces.get(key)
        if trace is None:
            trace = traces[key] = Trace(trace_id=key, format=format, source=source)
        trace.spans.append(span)
    extra = docs[0].get("final_output") if docs and isinstance(docs[0], dict) else None
    for trace in traces.values():
        roots = [s for s in trace.spans if not s.parent_id]
        trace.name = roots[0].name if roots else (trace.spans[0].name if trace.spans else "")
        if extra is not None and len(traces) == 1:
            trace.metadata["final_output"] = extra
    return list(traces.values())
