"""ATIF agent trajectories (`schema_version: ATIF-v1.x`): one trace per document."""

from __future__ import annotations

from ..atif import is_atif, read_atif
from ..load import Documents
from ..model import Trace
from . import Reader
from .common import each_object, keep_skipped


def _detect(docs: list[object]) -> bool:
    doc = docs[0]
    return is_atif(doc) or (isinstance(doc, list) and bool(doc) and all(is_atif(d) for d in doc))


def _read(docs: Documents, source: str) -> list[Trace]:
    skipped: list[object] = []
    return keep_skipped([read_atif(d, source) for d in each_object(docs.iterate(), skipped)], skipped)


READER = Reader(name="atif", priority=50, detect=_detect, read=_read,
                expects="ATIF trajectory (`schema_version`, `session_id`, `agent`, `steps[]`)")
