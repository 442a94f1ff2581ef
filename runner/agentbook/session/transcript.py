"""The transcript: JSONL, one event per line, flushed as it happens and redacted.

Each line is `{"t": <unix seconds>, "session": id, "event": kind, ...}`. Flushing (not fsync) is
enough for `kill -9`: the kernel keeps what was written; a torn last line is skipped by readers.

Records are redacted one at a time, so a held secret split across two of them (two tool results, a tool
result and the reply after it) would be written as two halves no record holds whole. A record with a
text whose end could begin a form of a held secret (`Redactor.open_end`, at least HOLD_AT characters) is
held back, whole, until the next record (or `close`) shows whether it does; each of its open ends is
redacted together with each text of the next record, and where a form runs across, both sides are
replaced. Shorter open ends are not held (the record is written at once) but still checked against the
next record, whose half is the longer one. A record is always written whole, so a `kill -9` while one is
held loses that record only: a resumed session reads the transcript as if the kill came a record earlier
(`session.history` answers a tool call left without its result as interrupted).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from agentbook.redaction import MIN_OPEN_BEFORE_BREAK
from agentbook.session.redact import REDACTED, Redactor

HOLD_AT = MIN_OPEN_BEFORE_BREAK  # fewer characters of a secret than this left in one record tell nothing
Place = tuple[Any, Any]  # (the dict or list holding a text, its key or index)


class Transcript:
    def __init__(self, path: Path | str | None, session_id: str, redactor: Redactor) -> None:
        self.path = Path(path) if path is not None else None
        self.session_id = session_id
        self.redactor = redactor
        self._fh: IO[str] | None = None
        self._held: dict[str, Any] | None = None  # a record not yet written (see the module's doc)
        self._ends: list[tuple[Place, str]] = []  # the open ends of the last record's texts
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the session

    def event(self, kind: str, /, **fields: Any) -> None:
        if self._fh is None:
            return
        record = {"t": round(time.time(), 3), "session": self.session_id, "event": kind, **fields}
        texts = list(_texts(record))
        self._join(texts)
        if self._held is not None:
            self._write(self._held)
            self._held = None
        self._ends = [(place, text[len(text) - n:]) for place, text in texts
                      if (n := self.redactor.open_end(text))] if self.redactor.holds_values() else []
        if any(len(end) >= HOLD_AT for _, end in self._ends):
            self._held = record
        else:
            self._write(record)

    def _join(self, texts: list[tuple[Place, str]]) -> None:
        """Replace a form that runs from an open end of the last record into a text of this one, on both sides."""
        reach = self.redactor.reach()
        for (before, end) in self._ends:
            for index, (place, text) in enumerate(texts):
                head = text[:reach]  # the rest of a form that begins in `end` lies here
                # the held values' forms only: a key shape would run on into an id or a word
                joined = self.redactor.held_text(end + head)
                if joined == self.redactor.held_text(end) + self.redactor.held_text(head):
                    continue  # nothing runs across (the usual case)
                kept = _common_prefix(joined, end)
                holder, key = before
                holder[key] = holder[key][:len(holder[key]) - len(end)] + end[:kept] + REDACTED
                holder, key = place
                holder[key] = text = joined[kept:] + text[len(head):]
                texts[index] = (place, text)
                break  # that end is replaced: on to the next

    def _write(self, record: dict[str, Any]) -> None:
        assert self._fh is not None
        self._fh.write(self.redactor.dumps(record) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            if self._held is not None:
                self._write(self._held)
                self._held = None
            self._fh.close()
            self._fh = None


def _texts(value: Any) -> Iterator[tuple[Place, str]]:
    """Every string in a record, with where it is (copying the containers it is in: a record's fields are
    the caller's objects, which a replacement must not change)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield (value, key), item
            elif isinstance(item, dict | list | tuple):
                value[key] = copy = _copied(item)
                yield from _texts(copy)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield (value, index), item
            elif isinstance(item, dict | list | tuple):
                value[index] = copy = _copied(item)
                yield from _texts(copy)


def _copied(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n
