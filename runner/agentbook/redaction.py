"""Secrets never reach a transcript or a trace: known values in every form `agentbook.secretscan`
knows (plain, reversed, hex in any case, base64 at each alignment, base64 of the hex and hex of the base64,
each also split over lines or written in escapes: `%73`, `\u0073`, `\x73`, `&#115;`) and anything shaped
like an API key. The runner's scan before a commit or a push (`SecretScanner`) looks for the same forms, and
refuses."""

from __future__ import annotations

import bisect
import functools
import json
import re

from agentbook.secretscan import KEY_SHAPES as _SHAPES
from agentbook.secretscan import MAX_UNESCAPE, MIN_SECRET_LEN, Unescaped, held_secrets, secret_forms

TYPE_CHECKING = False  # `typing` at run time would cost `agentbook eval list` several ms
if TYPE_CHECKING:
    from typing import Any

REDACTED = "[REDACTED]"
KEY_SHAPES = [shape for _, shape in _SHAPES]
# What lies between the pieces of a value split over lines: whitespace, quotes, `+` and backslashes as
# in `secretscan`, and (text that is JSON) the escapes `\n`, `\r`, `\t` that stand for line breaks.
_GAP = re.compile(r"(?:\\[nrt]|[\s\"'+\\])+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_GAP_CHARS = " \t\r\n\f\v\"'+\\"
_CUT_ESCAPE = re.compile(r"(?:%(?:25)*[0-9A-Fa-f]?|\\+(?:u[0-9A-Fa-f]{0,3}|x[0-9A-Fa-f]?)?|&#[xX]?[0-9A-Fa-f]*)$")
_BREAKS = re.compile(r"[\s\"'+\\]+")
_PIECE = 8
MIN_OPEN_BEFORE_BREAK = 4  # a line's end held back as a form's first piece: at least this long


class Redactor:
    """Replaces every listed secret (and the secrets this process holds: see `held_secrets`) in
    strings and JSON, in each of its forms."""

    def __init__(self, secrets: list[str] | None = None, *, from_env: bool = True) -> None:
        raw = {s for s in (secrets or []) if s and len(s) >= MIN_SECRET_LEN}
        if from_env:
            raw |= {s.value for s in held_secrets()}
        values = {form for v in raw for form in secret_forms(v)}
        self._exact = _alternatives(values)
        self._escaped = _alternatives({json.dumps(v, ensure_ascii=False)[1:-1] for v in values})
        self._squeezed = _alternatives({_GAP.sub("", v) for v in values} - {""})
        # what text unescaped (`secretscan.Unescaped`) is searched for: the forms and the key shapes at once
        source = [self._exact.pattern] if self._exact is not None else []
        self._decoded = re.compile("|".join(source + [shape.pattern for shape in KEY_SHAPES]))
        self._values = re.compile(source[0]) if source else None
        self._reach = max(map(len, values), default=0) + 64  # the longest form, or a key shape's usual length
        # every beginning of every form (hex in lower case), for text that comes in pieces (`StreamRedactor`)
        self._starts = {v.lower() if _HEX.fullmatch(v) else v for v in values}
        self._beginnings: set[str] | None = None
        self._pieces: set[str] = set()  # every stretch of every form up to _PIECE long

    def holds_values(self) -> bool:
        """True when there is a value to find (key shapes alone never begin in one piece and end in another)."""
        return bool(self._starts)

    def reach(self) -> int:
        """How far past its beginning a form's last piece may lie: as far as `open_end` looks back."""
        return 8 * self._reach

    def held_text(self, value: str) -> str:
        """`value` with the held values' forms replaced (split, escaped), but no key shape: what runs from one
        text into another (`Transcript`) is a held value, where a key shape would run on into any word."""
        if self._exact is None:
            return value
        return self._unescaped(self._split(self._exact.sub(REDACTED, value)), self._values)

    def text(self, value: str) -> str:
        if self._exact is not None:
            value = self._split(self._exact.sub(REDACTED, value))
        return self._unescaped(_key_shapes(value))

    def dumps(self, value: Any) -> str:
        """`value` as JSON with every secret replaced: one pass over the text, not over the structure."""
        return self.json_text(json.dumps(value, ensure_ascii=False, default=str))

    def json_text(self, text: str) -> str:
        """JSON text with every secret replaced."""
        if self._escaped is not None:  # secrets as they appear inside JSON strings
            text = self._split(self._escaped.sub(REDACTED, text))
        return self._unescaped(_key_shapes(text))

    def _unescaped(self, text: str, pattern: re.Pattern[str] | None = None) -> str:
        """Forms written in escapes, some characters or all (`%73k-ant-...`): found in the text unescaped,
        and the whole stretch of the original they came from replaced."""
        spans = self._escaped_spans(text, MAX_UNESCAPE, pattern or self._decoded)
        if not spans:
            return text
        out, last = [], 0
        for lo, hi in sorted(spans):
            if hi <= last:
                continue
            lo = max(lo, last)
            lo -= _odd_backslashes(text, lo)  # JSON text: an escape's backslash goes with what it escapes
            out += [text[last:lo], REDACTED]
            last = hi
        return "".join(out) + text[last:]

    def open_end(self, text: str) -> int:
        """How many characters at the end of `text` could be where a form begins, its rest still to come:
        the end itself (`token: sk-an`), the last pieces before a break between pieces (`"sk-ant-api"\\n`),
        or the same unescaped (`%73%6B`, with an escape cut short: `%7`). The most of them, when several."""
        if self._beginnings is None:
            self._beginnings = {v[:n] for v in self._starts for n in range(1, len(v))}
            self._pieces = {v[i:i + n] for v in self._starts for n in range(1, _PIECE + 1) for i in range(len(v))}
        tail = text[-self.reach():]
        cut = _CUT_ESCAPE.search(tail)
        body = tail[:cut.start()] if cut else tail
        bare = body.rstrip(_GAP_CHARS)  # a break after the piece: the piece must be longer to count
        starts = [cut.start()] if cut else []
        for candidate, least in ((body, 1), (bare, MIN_OPEN_BEFORE_BREAK)):
            size = self._open_size(candidate, least)
            starts += [len(candidate) - size] if size else []
            size = self._open_size(_BREAKS.sub("", candidate), least)  # its earlier pieces on lines before
            starts += [_start_of_last(candidate, size)] if size else []
            decoded = Unescaped.of(candidate)
            size = self._open_size(decoded.text, least) if decoded is not None else 0
            if decoded is not None and size:
                starts.append(decoded.span(len(decoded.text) - size, len(decoded.text))[0])
        return len(tail) - min(starts) if starts else 0

    def _open_size(self, text: str, least: int) -> int:
        """The longest end of `text`, at least `least` long, that begins a form (0: none)."""
        beginnings, pieces, best = self._beginnings or set(), self._pieces, 0
        for size in range(1, min(len(text), self._reach) + 1):
            end = text[len(text) - size:]
            if size <= _PIECE and end not in pieces and end.lower() not in pieces:
                break  # no form holds this end, so none begins with a longer one (the usual case: at once)
            if end in beginnings or end.lower() in beginnings:
                best = size
        return best if best >= least else 0

    def _escaped_spans(self, text: str, rounds: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
        decoded = Unescaped.of(text) if rounds > 0 else None
        if decoded is None:
            return []
        found = [m.span() for lo, hi in decoded.windows(self._reach) for m in pattern.finditer(decoded.text, lo, hi)]
        found += self._escaped_spans(decoded.text, rounds - 1, pattern)  # `%255Cu0073`: an escape made of escapes
        return [decoded.span(lo, hi) for lo, hi in found]

    def _split(self, text: str) -> str:
        """Values cut into pieces over lines (`"sk-ant-" +\\n "rest"`): found in the text with the gaps
        squeezed out, and the whole stretch of the original they span replaced."""
        if self._squeezed is None or ("\n" not in text and "\\n" not in text):
            return text
        squeezed = _GAP.sub("", text)
        found = [(m.start(), m.end()) for m in self._squeezed.finditer(squeezed)]
        if not found:  # the usual case: no list of every gap made
            return text
        gaps = [(m.start(), m.end()) for m in _GAP.finditer(text)]
        # gap k starts at squeezed position starts[k]; removed[k] characters were cut before it ends
        starts, removed, cut = [], [], 0
        for start, end in gaps:
            starts.append(start - cut)
            cut += end - start
            removed.append(cut)
        spans = [(_original(lo, starts, removed), _original(hi - 1, starts, removed) + 1) for lo, hi in found]
        out, last = [], 0
        for lo, hi in spans:
            out += [text[last:lo], REDACTED]
            last = hi
        return "".join(out) + text[last:]

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        return value


def _start_of_last(text: str, count: int) -> int:
    """Where in `text` its last `count` characters that are not breaks between pieces begin."""
    pos = len(text)
    while count and pos:
        pos -= 1
        count -= text[pos] not in _GAP_CHARS
    return pos


class StreamRedactor:
    """Text written in pieces (a stream's writes, each flushed): each piece is redacted together with the end
    of the one before that could begin a secret's form, which is held back until a later piece shows whether
    it does (or `close`): a key written in two prints, or its two lines in two, is replaced whole."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str, redactor: Redactor) -> str:
        buf = self._held + text
        keep = redactor.open_end(buf)
        whole = redactor.text(buf)
        if not keep:
            self._held = ""
            return whole
        out = redactor.text(buf[:len(buf) - keep])
        if not whole.startswith(out):  # a form that ends in what would be held: the whole piece says so
            self._held = ""
            return whole
        self._held = buf[len(buf) - keep:]
        return out

    def close(self, redactor: Redactor) -> str:
        out, self._held = redactor.text(self._held), ""
        return out


def _alternatives(values: set[str]) -> re.Pattern[str] | None:
    # longest first, so a secret that contains another is replaced whole; hex in any mix of cases
    if not values:
        return None
    hexes = {v.lower() for v in values if len(v) >= 2 * MIN_SECRET_LEN and _HEX.fullmatch(v)}
    values = {v for v in values if v.lower() not in hexes} | hexes
    return re.compile("|".join(f"(?i:{v})" if v in hexes else re.escape(v)
                               for v in sorted(values, key=len, reverse=True)))


def _odd_backslashes(text: str, pos: int) -> int:
    """1 when an odd number of backslashes stands right before `pos` (one escapes `text[pos]`), else 0."""
    n = 0
    while n < pos and text[pos - n - 1] == "\\":
        n += 1
    return n % 2


def _original(pos: int, starts: list[int], removed: list[int]) -> int:
    """The index in the original text of character `pos` of its squeezed copy."""
    k = bisect.bisect_right(starts, pos)
    return pos + (removed[k - 1] if k else 0)


def _key_shapes(text: str) -> str:
    for shape in KEY_SHAPES:
        text = shape.sub(REDACTED, text)
    return text


def process_redactor() -> Redactor:
    """A redactor for every secret this process holds now (rebuilt only when that set changes)."""
    return _cached(tuple(s.value for s in held_secrets()))


@functools.lru_cache(maxsize=4)
def _cached(values: tuple[str, ...]) -> Redactor:
    return Redactor(list(values), from_env=False)
