"""`read_trace(path, format="auto")`: any supported file -> span trees, the format found by looking.

`load.py` turns the file into JSON documents (or says a large OTLP document must be streamed span by
span); the reader registry (`readers/`) picks the reader from the first few documents, or checks the
format the caller named; the reader makes traces, whose spans are packed as they arrive.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agentbook.errors import FatalError

from .load import load_documents
from .model import Trace
from .readers import check_format, choose, registry
from .tree import build_tree

# The built-in formats (plugins add theirs: `agentbook.traces.readers.registry().names()`).
FORMATS = ("auto", "otlp", "openinference", "langfuse", "atif", "agentbook", "claude-code", "claude-stream", "claude-sessions", "codex", "gemini-cli", "pi-agent", "openai-agents", "pydantic-ai", "langsmith", "weave", "inspect")


def read_trace(path: Path | str, format: str = "auto") -> list[Trace]:
    """Every trace in the file, each with its tree built (`roots`, `orphans`, `problems`)."""
    path = Path(path)
    check_format(format)
    if not path.is_file():
        raise FatalError(f"{path}: no such trace file")
    try:
        return _read(path, format)
    except RecursionError:  # a trace is anyone's to write: nesting past Python's stack is an error, not a crash
        raise FatalError(f"{path}: nested too deep to read (past {sys.getrecursionlimit()} levels)",
                         hint="a trace's JSON nests a few dozen levels; this file is not one") from None


def _read(path: Path, format: str) -> list[Trace]:
    docs = load_documents(path)
    if docs is None:  # a large single-document OTLP file
        otlp = registry().get("otlp")
        if format not in ("auto", "otlp", "openinference") or otlp is None or otlp.stream is None:
            raise FatalError(f"{path}: this is not {format} (it looks like otlp)",
                             hint="leave --format at auto, or pass the format the file is in")
        traces = otlp.stream(path)
    else:
        reader = choose(docs.head, path, format)
        traces = reader.read(docs, str(path))
        for trace in traces:
            trace.problems[:0] = docs.problems
    if not traces or not any(t.spans for t in traces):
        raise FatalError(f"{path}: no spans found", hint="the file parsed but held no spans, observations or steps")
    for trace in traces:
        for span in trace.spans:
            span.pack()
    return [build_tree(t) for t in traces]
