"""Helpers the readers share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..model import Span, Trace


def each_object(docs: Iterable[Any], skipped: list[Any]) -> Iterator[dict[str, Any]]:
    """Every object of the documents, a top-level array counting as its items; anything else goes to
    `skipped` (the caller keeps it, so nothing is dropped silently)."""
    for doc in docs:
        for item in doc if isinstance(doc, list) else [doc]:
            if isinstance(item, dict):
                yield item
            else:
                skipped.append(item)


def keep_skipped(traces: list[Trace], skipped: list[Any]) -> list[Trace]:
    if skipped and traces:
        traces[0].metadata["not_read"] = skipped
        traces[0].problems.append(f"{len(skipped)} item(s) of the file are not objects: kept in trace.json "
                                  "(metadata.not_read), not read as traces")
    return traces


class SessionLog:
    """A session transcript being read record by record: its trace, the root agent span and new children
    under it. The root spans the first to the last record time seen."""

    def __init__(self, trace: Trace, root: Span) -> None:
        self.trace, self.root = trace, root
        trace.spans.append(root)

    def child(self, parent: Span, span_id: str, **fields: Any) -> Span:
        span = Span(span_id=span_id, parent_id=parent.span_id, trace_id=self.trace.trace_id, **fields)
        self.trace.spans.append(span)
        return span

    def widen(self, now: int | None) -> None:
        if now is not None:
            self.root.start_ns = self.root.start_ns if self.root.start_ns is not None else now
            self.root.end_ns = now
