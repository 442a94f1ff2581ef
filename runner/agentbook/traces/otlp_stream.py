"""A large OTLP/JSON file (one document, or JSON Lines of them), span by span, with the standard
library's JSON decoder.

The envelope (`{"resourceSpans": [{"resource": .., "scopeSpans": [{"scope": .., "spans": [..]}]}]}`)
is walked key by key; each span object, and every other value, is decoded whole with
`json.JSONDecoder.raw_decode` from a sliding text buffer, so memory follows one span, not the file,
and the decoding itself runs at C speed.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

from .attrs import otlp_attributes
from .model import Span
from .otlp import interpret, note_scope, span_from_dict

CHUNK = 1 << 20
# Text kept ahead of the next value before decoding it: a value cut by the end of the window fails to
# decode, and the failure (json's JSONDecodeError) counts the newlines of the whole window before it,
# once per chunk read; with this much ahead only a value longer than it is ever cut.
AHEAD = 1 << 16
RESOURCE_LISTS = ("resourceSpans", "resource_spans")
SCOPE_LISTS = ("scopeSpans", "scope_spans", "instrumentationLibrarySpans")
_WS = " \t\n\r"


class StreamError(ValueError):
    """The document is not the OTLP envelope it started as (or it ends early)."""


class _Text:
    """A window onto the file's text: `buf[pos:]` is what has not been consumed yet."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.offset = 0  # characters dropped from the front of buf so far
        self.eof = False
        self.json = json.JSONDecoder()

    def more(self) -> bool:
        if self.eof:
            return False
        raw = self.fh.read(CHUNK)
        if self.pos > CHUNK:
            self.offset += self.pos
            self.buf, self.pos = self.buf[self.pos:], 0
        self.buf += self.decoder.decode(raw, final=not raw)
        self.eof = not raw
        return True

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                raise StreamError(f"the document ends early (character {self.offset + self.pos})")

    def at_end(self) -> bool:
        """Only whitespace is left."""
        try:
            self.peek()
        except StreamError:
            return True
        return False

    def expect(self, chars: str) -> str:
        found = self.peek()
        if found not in chars:
            raise StreamError(f"expected one of {chars!r} at character {self.offset + self.pos}, found {found!r}")
        self.pos += 1
        return found

    def value(self) -> Any:
        self.peek()
        if len(self.buf) - self.pos < AHEAD:
            self.more()
        while True:
            try:
                value, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as err:
                if self.more():  # incomplete at the end of the window: read on and try again
                    continue
                raise StreamError(f"{err.msg} (character {self.offset + err.pos})") from None
            if end >= len(self.buf) and not self.eof and self.more():  # a number may go on in the next chunk
                continue
            self.pos = end
            return value


def _keys(text: _Text) -> Iterator[str]:
    """The keys of one object, in order; after each, the caller consumes its value."""
    text.expect("{")
    if text.peek() == "}":
        text.pos += 1
        return
    while True:
        key = text.value()
        if not isinstance(key, str):
            raise StreamError(f"expected a key at character {text.offset + text.pos}")
        text.expect(":")
        yield key
        if text.expect(",}") == "}":
            return


def _items(text: _Text) -> Iterator[None]:
    """Once before each element of an array; the caller consumes the element."""
    text.expect("[")
    if text.peek() == "]":
        text.pos += 1
        return
    while True:
        yield None
        if text.expect(",]") == "]":
            return


def _scope(text: _Text, scopes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for key in _keys(text):
        if key in ("scope", "instrumentationLibrary", "schemaUrl"):
            note_scope({key: text.value()}, scopes)
        elif key == "spans" and text.peek() == "[":
            for _ in _items(text):
                raw = text.value()
                if isinstance(raw, dict):
                    yield raw
        else:
            text.value()


def _resource(text: _Text, resources: list[dict[str, Any]], scopes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for key in _keys(text):
        if key in SCOPE_LISTS and text.peek() == "[":
            for _ in _items(text):
                yield from _scope(text, scopes)
        elif key == "resource":
            resource = text.value()
            attrs = otlp_attributes(resource.get("attributes") if isinstance(resource, dict) else None)
            if attrs and attrs not in resources:
                resources.append(attrs)
        else:
            text.value()


def stream_envelope(fh: IO[bytes], resources: list[dict[str, Any]], scopes: list[dict[str, Any]]) -> Iterator[Span]:
    """Every span of the envelope in `fh`, interpreted, in file order; resources are collected."""
    text = _Text(fh)
    count = 0
    while True:  # one envelope, or several one after another (the collector's file exporter writes JSON Lines)
        for key in _keys(text):
            if key in RESOURCE_LISTS and text.peek() == "[":
                for _ in _items(text):
                    for raw in _resource(text, resources, scopes):
                        yield interpret(span_from_dict(raw, count))
                        count += 1
            else:
                text.value()
        if text.at_end():
            return
