"""Helpers the readers share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..model import Trace


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
