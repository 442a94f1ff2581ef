"""The transcript: JSONL, one event per line, flushed as it happens and redacted.

Each line is `{"t": <unix seconds>, "session": id, "event": kind, ...}`. Flushing (not fsync) is
enough for `kill -9`: the kernel keeps what was written; a torn last line is skipped by readers.

Records are redacted one at a time, so a held secret split across records (two tool results, a tool result
and the reply after it, three records with only a middle piece in the middle one, or the last record before a
`kill -9` and a record of the resumed session) would be written in pieces no record holds whole. So the
transcript follows **chains**: a text whose end could begin a form of a held secret (`Redactor.open_end`)
starts one; a text of a later record that is all a continuation of it (a middle piece) extends it; the start
of a text of a later record that completes a form ends it, and every piece is replaced, on both sides. A chain
lives MAX_GAP records past its last piece (the assistant's call between two tool results, the resumed session's
first records), then ends. The records a chain of at least HOLD_AT characters runs through are held back, whole,
until it ends (or `close`); shorter chains do not hold their records (which are written at once; only the
later side is then replaced). A record is always written whole, so a `kill -9` while records are held loses
those records only: a resumed session reads the transcript as if the kill came a few records earlier
(`session.history` answers a tool call left without its result as interrupted). A transcript opened again
(`--resume`) starts with a chain from its last record's open ends, and a form completed across that line
rewrites it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from agentbook.redaction import MIN_OPEN_BEFORE_BREAK
from agentbook.session.redact import REDACTED, Redactor

HOLD_AT = MIN_OPEN_BEFORE_BREAK  # fewer characters of a secret than this left in one record tell nothing
MAX_GAP = 3  # records a chain waits through for its next piece (a call, the resumed session's start)
MAX_CHAINS = 64  # chains followed at once, the newest kept (each a possible beginning of a form)
LAST_LINE_BYTES = 4 * 1024 * 1024  # how far back a transcript opened again looks for its last record
Place = tuple[Any, Any]  # (the dict or list holding a text, its key or index)
RUNNER_KEYS = ("session", "event")  # a record's texts the runner writes itself: no piece of anything is there


@dataclass
class _Held:
    """A record not yet written (or, `offset` not None, the last line already on disk at that offset)."""

    record: dict[str, Any]
    offset: int | None = None
    changed: bool = False


@dataclass
class _Chain:
    """Pieces of texts, in order, that together could be the beginning of a form: each piece the end of its
    text (the first), or all of it (the others)."""

    pieces: list[tuple[Place, str, _Held]] = field(default_factory=list)
    idle: int = 0  # records since its last piece

    def text(self) -> str:
        return "".join(piece for _, piece, _ in self.pieces)


class Transcript:
    def __init__(self, path: Path | str | None, session_id: str, redactor: Redactor) -> None:
        self.path = Path(path) if path is not None else None
        self.session_id = session_id
        self.redactor = redactor
        self._fh: IO[str] | None = None
        self._queue: list[_Held] = []  # records not yet written, in order (see the module's doc)
        self._chains: list[_Chain] = []
        self._rewriting = False  # the last lines of a transcript opened again are being written again
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            last = _last_lines(self.path, MAX_GAP + 1) if self.redactor.holds_values() else []
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the session
            for offset, line in last:
                self._resume_from(offset, line)

    def event(self, kind: str, /, **fields: Any) -> None:
        if self._fh is None:
            return
        record = {"t": round(time.time(), 3), "session": self.session_id, "event": kind, **fields}
        held = _Held(record)
        texts = list(_texts(record, RUNNER_KEYS))
        used = self._follow(texts, held)
        self._start_chains(texts, used, held)
        self._queue.append(held)
        self._flush()

    def _start_chains(self, texts: list[tuple[Place, str]], used: set[int], held: _Held) -> None:
        """A chain from each text (but those that continued one) whose end could begin a form."""
        if not self.redactor.holds_values():
            return
        for index, (place, text) in enumerate(texts):
            n = self.redactor.open_end(text)
            if n and index not in used:
                self._chains.append(_Chain([(place, text[len(text) - n:], held)]))

    def _follow(self, texts: list[tuple[Place, str]], held: _Held) -> set[int]:
        """Each chain against this record's texts: ended where a form runs into one (both sides replaced); else
        one record older, and continued, as a chain of its own, through each text that is all a middle piece of
        it. The texts that continued one."""
        reach, used, alive = self.redactor.reach(), set[int](), []
        heads: dict[int, str] = {}  # each text's start, redacted alone (the same for every chain)
        for chain in self._chains:
            before = chain.text()
            if self._ends_in(chain, before, texts, heads):
                continue
            for index, (place, text) in enumerate(texts):
                whole = before + text
                n = self.redactor.open_end(whole) if len(whole) <= reach else 0
                if n > len(text):  # the text is all a middle piece: a chain runs on through it
                    alive.append(_Chain(_last_of(chain.pieces, n - len(text)) + [(place, text, held)]))
                    used.add(index)
            chain.idle += 1
            if chain.idle <= MAX_GAP:
                alive.append(chain)
        self._chains = alive[-MAX_CHAINS:]
        return used

    def _ends_in(self, chain: _Chain, before: str, texts: list[tuple[Place, str]], heads: dict[int, str]) -> bool:
        """Whether a form runs from the chain into the start of one of `texts`: then both sides are replaced."""
        alone = self.redactor.held_text(before)
        for index, (place, text) in enumerate(texts):
            head = text[:self.redactor.reach()]  # the rest of a form that begins in the chain lies here
            if index not in heads:
                heads[index] = self.redactor.held_text(head)
            # the held values' forms only: a key shape would run on into an id or a word
            joined = self.redactor.held_text(before + head)
            if joined == alone + heads[index]:
                continue  # nothing runs across (the usual case)
            kept = _common_prefix(joined, before)
            _cut_chain(chain, kept)
            holder, key = place
            holder[key] = text = joined[kept:] + text[len(head):]
            texts[index] = (place, text)
            heads.pop(index)
            return True
        return False

    def _flush(self) -> None:
        """Write the records no chain of HOLD_AT characters or more still runs through, from the oldest on."""
        holding = {id(h) for c in self._chains if len(c.text()) >= HOLD_AT for _, _, h in c.pieces}
        while self._queue and id(self._queue[0]) not in holding:
            self._write(self._queue.pop(0))

    def _write(self, held: _Held) -> None:
        assert self._fh is not None
        if held.offset is not None:  # a line already there when the transcript was opened again
            if not (held.changed or self._rewriting):
                return
            if not self._rewriting:  # a form ran on from it: it and the lines after it are written again
                self._fh.flush()
                self._fh.truncate(held.offset)  # a kill -9 now loses these lines, never leaks them
                self._rewriting = True
        self._fh.write(self.redactor.dumps(held.record) + "\n")
        self._fh.flush()

    def _resume_from(self, offset: int, line: str) -> None:
        """One of the last lines of a transcript opened again, followed as the record it was (in order)."""
        try:
            record = json.loads(line)
        except ValueError:
            return  # a torn line: readers skip it
        if not isinstance(record, dict):
            return
        held = _Held(record, offset)
        texts = list(_texts(record, RUNNER_KEYS))
        used = self._follow(texts, held)
        self._start_chains(texts, used, held)
        self._queue.append(held)

    def close(self) -> None:
        if self._fh is not None:
            self._chains = []
            self._flush()
            self._fh.close()
            self._fh = None


def _cut_chain(chain: _Chain, kept: int) -> None:
    """Replace what follows the first `kept` characters of the chain's text in the texts its pieces are in."""
    at, marked = 0, False
    for (holder, key), piece, held in chain.pieces:
        stays = max(0, min(len(piece), kept - at))
        at += len(piece)
        if stays == len(piece) or not holder[key].endswith(piece):  # kept, or replaced by another chain already
            continue
        tail = piece[:stays] + ("" if marked else REDACTED)
        marked = True
        holder[key] = holder[key][:len(holder[key]) - len(piece)] + tail
        held.changed = True


def _last_of(pieces: list[tuple[Place, str, _Held]], size: int) -> list[tuple[Place, str, _Held]]:
    """The pieces that hold the last `size` characters of their text (the first one cut to what it holds)."""
    out: list[tuple[Place, str, _Held]] = []
    for place, piece, held in reversed(pieces):
        if size <= 0:
            break
        out.insert(0, (place, piece[len(piece) - min(size, len(piece)):], held))
        size -= len(piece)
    return out


def _last_lines(path: Path, count: int) -> list[tuple[int, str]]:
    """(offset, text) of the last `count` whole lines of `path`, oldest first (a torn last one left out; none
    where they do not fit in LAST_LINE_BYTES)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            start = max(0, size - LAST_LINE_BYTES)
            fh.seek(start)
            data = fh.read()
    except OSError:
        return []
    end = data.rfind(b"\n") + 1  # past it: a torn line, which readers skip
    out: list[tuple[int, str]] = []
    while end > 0 and len(out) < count:
        cut = data.rfind(b"\n", 0, end - 1) + 1
        if cut == 0 and start > 0:
            break  # the line begins before what was read
        out.insert(0, (start + cut, data[cut:end - 1].decode("utf-8", "replace")))
        end = cut
    return out


def _texts(value: Any, skip: tuple[str, ...] = ()) -> Iterator[tuple[Place, str]]:
    """Every string in a record, with where it is (copying the containers it is in: a record's fields are
    the caller's objects, which a replacement must not change), but those under the keys `skip`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in skip:
                continue
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
