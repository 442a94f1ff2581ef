"""Secrets never reach a transcript or a trace: known values in every form `agentbook.secretscan`
knows (plain, reversed, hex in any case, base64 at each alignment, each also split over lines or
written in escapes: `%73`, `\u0073`, `\x73`, `&#115;`) and anything shaped like an API key. The
runner's scan before a commit or a push (`SecretScanner`) looks for the same forms, and refuses."""

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
        self._reach = max(map(len, values), default=0) + 64  # the longest form, or a key shape's usual length

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

    def _unescaped(self, text: str) -> str:
        """Forms written in escapes, some characters or all (`%73k-ant-...`): found in the text unescaped,
        and the whole stretch of the original they came from replaced."""
        spans = self._escaped_spans(text, MAX_UNESCAPE)
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

    def _escaped_spans(self, text: str, rounds: int) -> list[tuple[int, int]]:
        decoded = Unescaped.of(text) if rounds > 0 else None
        if decoded is None:
            return []
        found = [m.span() for lo, hi in decoded.windows(self._reach) for m in self._decoded.finditer(decoded.text, lo, hi)]
        found += self._escaped_spans(decoded.text, rounds - 1)  # `%255Cu0073`: an escape made of escapes
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
