"""A trace file as JSON documents: one document, JSON Lines, or JSON objects one after another (or an
Inspect `.eval` archive, `archive.py`, as the one log document it stands for).

Small files are read whole. Large JSON Lines files are read line by line, so memory follows what the
readers keep, not the file; a large single-document OTLP file is left to the streaming reader
(`load_documents` returns None). A torn last line (a writer killed mid-line) is reported, not fatal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from agentbook.errors import FatalError

from .archive import is_archive, read_eval_archive

STREAM_BYTES = 8 * 1024 * 1024  # files at least this big are not parsed whole
HEAD = 5  # documents kept aside for format detection
HEAD_BYTES = 1 << 20  # how far to look for the end of the first line of a large file
# A trace is anyone's to write and is parsed in the runner's process, outside any jail: `[[],[],...]` costs
# Python ~25 times its size (a 64 MiB file took 1.7 GB, a 1 GiB one would take ~26 GB). Counting what could
# start a value (`[`, `{`, `,`) before parsing bounds that at ~60 bytes each; a line is read at most so far.
MAX_VALUES = 20_000_000
MAX_LINE_BYTES = 256 << 20


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
    if is_archive(path):  # Inspect's .eval log: one document
        doc = read_eval_archive(path, lambda raw, before: _weigh(path, raw, before, None))
        return Documents([doc], lambda: iter([doc]))
    size = path.stat().st_size
    if size >= STREAM_BYTES:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        newline = head.find(b"\n")
        if newline != -1 and head[newline + 1:].strip() and _parses(head[:newline]):
            return _lines_from_file(path)  # JSON Lines: line by line (a torn last line is a problem, not fatal)
        if head.lstrip()[:1] == b"{" and (b'"resourceSpans"' in head[:4096] or b'"resource_spans"' in head[:4096]):
            return None  # one large OTLP document (or lines longer than HEAD_BYTES): streamed span by span
    with path.open("rb") as fh:
        raw = fh.read()
    _weigh(path, raw, 0, None)
    return _whole(path, _decode(path, raw))


def max_values() -> int:
    """`AGENTBOOK_TRACE_MAX_VALUES` when set to a positive integer, else MAX_VALUES."""
    raw = os.environ.get("AGENTBOOK_TRACE_MAX_VALUES", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else MAX_VALUES


def _weigh(path: Path, raw: bytes, before: int, line: int | None) -> int:
    """How many values `raw` could hold at most, added to `before`; an error past `max_values()`."""
    total = before + raw.count(b"[") + raw.count(b"{") + raw.count(b",")
    if total > max_values():
        where = f"{path}:{line}" if line else str(path)
        raise FatalError(f"more than {max_values():,} JSON values: parsing them would take the runner "
                         f"~{max_values() * 60 >> 30} GB or more", location=where,
                         hint="set AGENTBOOK_TRACE_MAX_VALUES higher for a trace you trust, or split the file")
    return total


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


def _bounded_lines(path: Path, fh: IO[bytes]) -> Iterator[tuple[int, str]]:
    """The file's non-blank lines, numbered and decoded, none longer than MAX_LINE_BYTES, their values
    together no more than `max_values()`."""
    weight, n = 0, 0
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        n += 1
        if len(raw) > MAX_LINE_BYTES:
            raise FatalError(f"a line longer than {MAX_LINE_BYTES >> 20} MiB", location=f"{path}:{n}",
                             hint="a JSON Lines trace holds one span or event per line")
        weight = _weigh(path, raw, weight, n)
        if raw.strip():
            yield n, _decode(path, raw)


def _lines_from_file(path: Path) -> Documents:
    problems: list[str] = []

    def iterate() -> Iterator[Any]:
        problems.clear()
        with path.open("rb") as fh:
            yield from _parse_lines(path, _bounded_lines(path, fh), problems)

    head: list[Any] = []
    for doc in iterate():
        head.append(doc)
        if len(head) == HEAD:
            break
    return Documents(head, iterate, problems)
