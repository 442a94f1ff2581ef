"""Helpers the readers share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def each_object(docs: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """Every object of the documents, a top-level array counting as its items."""
    for doc in docs:
        for item in doc if isinstance(doc, list) else [doc]:
            if isinstance(item, dict):
                yield item
