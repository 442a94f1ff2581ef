"""Langfuse trace exports: one trace per document (a JSON array or JSON Lines of them)."""

from __future__ import annotations

from ..langfuse import is_langfuse, read_langfuse
from ..load import Documents
from ..model import Trace
from . import Reader
from .common import each_object, keep_skipped


def _detect(docs: list[object]) -> bool:
    doc = docs[0]
    return is_langfuse(doc) or (isinstance(doc, list) and bool(doc) and all(is_langfuse(d) for d in doc))


def _read(docs: Documents, source: str) -> list[Trace]:
    skipped: list[object] = []
    return keep_skipped([read_langfuse(d, source) for d in each_object(docs.iterate(), skipped)], skipped)


READER = Reader(name="langfuse", priority=40, detect=_detect, read=_read,
                expects="Langfuse export (`trace` or trace object with `observations[]`)")
