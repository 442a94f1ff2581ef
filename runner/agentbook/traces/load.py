"""A trace file as JSON documents: one document, JSON Lines, or JSON objects one after another.

Small files are read whole. Large JSON Lines files are read line by line, so memory follows what the
readers keep, not the file; a large single-document OTLP file is left to the streaming reader
(`load_documents` returns None). A torn last line (a writer killed mid-line) is reported, not fatal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

STREAM_BYTES = 8 * 1024 * 1024  # files at least this big are not parsed whole
HEAD = 5  # documents kept aside for format detection
HEAD_BYTES = 1 << 20  # how far to look for the end of the first line of a large file


@dataclass
class Documents:
    head: list[Any]  # the first few documents (detection looks at these)
    iterate: Callable[[], Iterator[Any]]  # every document, from the first, each time it is called
    problems: list[str] = field(default_factory=list)  # filled while iterating (torn last line)


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FatalError(f"{path}: not a text trace file (byte {err.start} is not UTF-8)",
                         hint="trace files are JSON or JSON Lines") from None


def load_documents(path: Path) -> Documents | None:
    size = path.stat().st_size
    if size >= STREAM_BYTES:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        newline = head.find(b"\n")
        if newline != -1 and head[newline + 1:].strip() and _parses(head[:newline]):
            return _lines_from_file(path)  # JSON Lines: line by line (a torn last line is a problem, not fatal)
        if head.lstrip()[:1] == b"{" and (b'"resourceSpans"' in head[:4096] or b'"resource_spans"' in head[:4096]):
            return None  # one large OTLP document (or lines longer than HEAD_BYTES): streamed span by span
    return _whole(path, _decode(path, path.read_bytes()))


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _whole(path: Path, text: str) -> Documents:
    if not text.strip():
        raise FatalError(f"{path}: the file is empty", hint="trace files are JSON or JSON Lines")
    try:
        doc = json.loads(text)
        return Documents([doc], lambda: iter([doc]))
    except json.JSONDecodeError as whole_err:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        try:
            json.loads(lines[0][1])
        except json.JSONDecodeError:
            objects = _concatenated(text)
            if objects is None:
                raise _not_json(path, whole_err) from None
            return Documents(objects[:HEAD], lambda: iter(objects))
        problems: list[str] = []
        docs = list(_parse_lines(path, iter(lines), problems))
        return Documents(docs[:HEAD], lambda: iter(docs), problems)


def _not_json(path: Path, err: json.JSONDecodeError) -> FatalError:
    truncated = err.pos >= len(err.doc.rstrip()) - 1
    return FatalError(f"not valid JSON or JSON Lines: {err.msg}", location=f"{path}:{err.lineno}:{err.colno}",
                      hint="the file may be truncated" if truncated else "fix the JSON at that position")


def _concatenated(text: str) -> list[Any] | None:
    """JSON objects one after another, as the OTel SDK's console exporter prints them."""
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return docs if len(docs) > 1 else None
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return None
        docs.append(doc)


def _parse_lines(path: Path, lines: Iterator[tuple[int, str]], problems: list[str]) -> Iterator[Any]:
    pending = next(lines, None)
    while pending is not None:
        n, line = pending
        pending = next(lines, None)
        try:
            yield json.loads(line)
        except json.JSONDecodeError as err:
            if pending is not None:
                raise FatalError(f"line {n} is not valid JSON: {err.msg}",
                                 location=f"{path}:{n}:{err.colno}") from None
            problems.append(f"line {n} is not complete JSON ({err.msg}): skipped, the file may be truncated")


def _lines_from_file(path: Path) -> Documents:
    problems: list[str] = []

    def iterate() -> Iterator[Any]:
        problems.clear()
        with path.open("rb") as fh:
            numbered = ((n, _decode(path, raw)) for n, raw in enumerate(fh, 1) if raw.strip())
            yield from _parse_lines(path, numbered, problems)

    head: list[Any] = []
    for doc in iterate():
        head.append(doc)
        if len(head) == HEAD:
            break
    return Documents(head, iterate, problems)
