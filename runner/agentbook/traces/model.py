"""The one in-memory shape every trace format is read into: a `Trace` of `Span`s with messages.

Readers fill these; `tree.build_tree` links parents and children and records what it could not
place; the exporter only ever sees this shape.

A span's bulky content (messages, payloads, attributes, events) can be packed into one bytes blob
(`Span.pack`, `marshal` of plain tuples: several times faster than pickle, and half the size of the
JSON it came from), so a 100,000-span trace fits in less memory than its file. Packed content is
unpacked on first access and dropped again with `Span.release`, so code reads `span.input_messages`
the same way either way.
"""

from __future__ import annotations

import hashlib
import marshal
import pickle
import sys
import weakref
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

# The span kinds the folder names and the README talk about.
KINDS = ("agent", "llm", "tool", "chain", "retrieval", "other")
SHARED_MIN = 200  # system prompts at least this long, used by two or more spans, are written once


# Recent texts' digests: an agent's system prompt repeats in every model call of a trace, and a dict
# lookup (str's own hash) costs less than encoding and hashing it again. Bounded in entries and size.
_DIGESTS: dict[str, str] = {}
_DIGESTS_MAX, _DIGEST_CHARS = 64, 1 << 16


def text_digest(text: str) -> str:
    if len(text) > _DIGEST_CHARS:
        return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
    found = _DIGESTS.get(text)
    if found is None:
        found = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
        if len(_DIGESTS) >= _DIGESTS_MAX:
            _DIGESTS.clear()
        _DIGESTS[text] = found
    return found


@dataclass(slots=True)
class ToolCall:
    """A tool call the model asked for inside a message (not its execution, which is a tool span)."""

    name: str
    arguments: str = ""  # raw text as the source had it (usually JSON)
    id: str = ""


@dataclass(slots=True)
class Message:
    role: str
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str = ""  # for role=tool: which call this answers
    name: str = ""
    reasoning: str = ""
    finish_reason: str = ""
    time_ns: int | None = None  # when the source recorded it (session transcripts do, spans do not)


@dataclass(slots=True)
class Content:
    """The bulky part of a span: what `Span.pack` compresses."""

    input_messages: list[Message] = field(default_factory=list)
    output_messages: list[Message] = field(default_factory=list)
    input_text: str = ""  # input that is not a message list (a query, a JSON payload)
    output_text: str = ""
    tool_args: str | None = None
    tool_result: str | None = None
    prompt: dict[str, str] = field(default_factory=dict)  # template id / name / version when known
    attributes: dict[str, Any] = field(default_factory=dict)  # what no other field took
    events: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # suspicious but not failed (WARNING level, ...)


CONTENT_FIELDS = tuple(Content.__dataclass_fields__)
LIGHT_FIELDS = ("span_id", "parent_id", "trace_id", "name", "kind", "start_ns", "end_ns", "status",
                "status_message", "model", "input_tokens", "output_tokens", "cost_usd", "tool_name", "tool_call_id")
_DEFAULTS: dict[str, Any] = {"parent_id": None, "trace_id": "", "name": "", "kind": "other", "start_ns": None,
                             "end_ns": None, "status": "unset", "status_message": "", "model": "",
                             "input_tokens": None, "output_tokens": None, "cost_usd": None, "tool_name": "",
                             "tool_call_id": ""}


class _ContentField(Generic[T]):
    """A Span attribute that lives in its (possibly packed) `Content`; typed for callers and mypy."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _ContentField[T]: ...

    @overload
    def __get__(self, obj: Span, objtype: type | None = None) -> T: ...

    def __get__(self, obj: Span | None, objtype: type | None = None) -> T | _ContentField[T]:
        if obj is None:
            return self
        value: T = getattr(obj.content(), self.name)
        return value

    def __set__(self, obj: Span, value: T) -> None:
        setattr(obj.content(), self.name, value)


class Span:
    """One operation: an agent run, a model call, a tool call, a chain step.

    Light fields are plain attributes; the `Content` fields are properties over `content()`.
    """

    __slots__ = (*LIGHT_FIELDS, "children", "_content", "_packed", "_counts", "_system_keys", "_attr_keys",
                 "_call_keys", "_shared")

    span_id: str
    parent_id: str | None
    trace_id: str
    name: str
    kind: str
    start_ns: int | None
    end_ns: int | None
    status: str  # ok | error | unset
    status_message: str
    model: str
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    tool_name: str
    tool_call_id: str

    input_messages: _ContentField[list[Message]] = _ContentField()
    output_messages: _ContentField[list[Message]] = _ContentField()
    input_text: _ContentField[str] = _ContentField()
    output_text: _ContentField[str] = _ContentField()
    tool_args: _ContentField[str | None] = _ContentField()
    tool_result: _ContentField[str | None] = _ContentField()
    prompt: _ContentField[dict[str, str]] = _ContentField()
    attributes: _ContentField[dict[str, Any]] = _ContentField()
    events: _ContentField[list[dict[str, Any]]] = _ContentField()
    scores: _ContentField[list[dict[str, Any]]] = _ContentField()
    warnings: _ContentField[list[str]] = _ContentField()

    def __init__(self, span_id: str, parent_id: str | None = None, trace_id: str = "", name: str = "",
                 kind: str = "other", start_ns: int | None = None, end_ns: int | None = None,
                 status: str = "unset", status_message: str = "", model: str = "",
                 input_tokens: int | None = None, output_tokens: int | None = None, cost_usd: float | None = None,
                 tool_name: str = "", tool_call_id: str = "", **content: Any) -> None:
        # Named parameters, not a **fields map popped one by one: readers make one Span per span of
        # a trace, and binding keywords is the interpreter's job (several times faster).
        self.span_id, self.parent_id, self.trace_id, self.name = span_id, parent_id, trace_id, name
        self.kind, self.start_ns, self.end_ns = kind, start_ns, end_ns
        self.status, self.status_message, self.model = status, status_message, model
        self.input_tokens, self.output_tokens, self.cost_usd = input_tokens, output_tokens, cost_usd
        self.tool_name, self.tool_call_id = tool_name, tool_call_id
        self.children: list[Span] = []
        self._content: Content | None = None
        self._packed: bytes | None = None
        self._counts: tuple[int, int] | None = None
        self._system_keys: tuple[str, ...] | None = None
        self._attr_keys: tuple[str, ...] | None = None
        self._call_keys: tuple[tuple[str, str], ...] | None = None
        self._shared: tuple[str, ...] = ()  # long system prompts the packed content refers to, held once
        if content:
            unknown = set(content) - set(CONTENT_FIELDS)
            if unknown:
                raise TypeError(f"Span() got unknown fields: {sorted(unknown)}")
            self._content = Content(**content)

    def __repr__(self) -> str:
        return f"Span({self.span_id!r}, kind={self.kind!r}, name={self.name!r}, status={self.status!r})"

    def content(self) -> Content:
        if self._content is None:
            self._content = _unpack(self._packed, self._shared) if self._packed else Content()
        return self._content

    def pack(self) -> None:
        """Compress the content and drop the unpacked copy (done by readers for every span)."""
        content = self._content
        if content is None:
            return
        self._counts = (len(content.input_messages) + len(content.output_messages),
                        sum(len(m.tool_calls) for m in content.input_messages + content.output_messages))
        prompts = {text_digest(m.content): m.content for m in content.input_messages
                   if m.role == "system" and len(m.content) >= SHARED_MIN}
        self._system_keys = tuple(sorted(prompts))
        self._attr_keys = tuple(sys.intern(str(k)) for k in content.attributes)
        self._call_keys = _call_keys(content)
        self._shared = tuple(_shared_text(key, text) for key, text in prompts.items())
        self._packed = _pack(content, self._shared)
        self._content = None
        for key in ("trace_id", "model", "tool_name", "kind", "status"):
            value = getattr(self, key)
            if value:
                setattr(self, key, sys.intern(value))

    @staticmethod
    def _digest_system_prompts(content: Content) -> tuple[str, ...]:
        return tuple(sorted({text_digest(m.content) for m in content.input_messages
                             if m.role == "system" and len(m.content) >= SHARED_MIN}))

    def system_prompt_keys(self) -> tuple[str, ...]:
        """Digests of this span's long system prompts (known without unpacking a packed span)."""
        if self._content is None and self._system_keys is not None:
            return self._system_keys
        return self._digest_system_prompts(self.content())

    def attribute_keys(self) -> tuple[str, ...]:
        """The names of the span's raw attributes (known without unpacking a packed span)."""
        if self._content is None and self._attr_keys is not None:
            return self._attr_keys
        return tuple(self.content().attributes)

    def tool_call_keys(self) -> tuple[tuple[str, str], ...]:
        """(key, tool name) of each distinct tool call in the span's messages (known without unpacking)."""
        if self._content is None and self._call_keys is not None:
            return self._call_keys
        return _call_keys(self.content())

    def release(self) -> None:
        """Drop the unpacked copy of packed content (changes made since `pack` are lost)."""
        if self._packed is not None:
            self._content = None

    @property
    def duration_ms(self) -> float | None:
        if self.start_ns is None or self.end_ns is None:
            return None
        return (self.end_ns - self.start_ns) / 1e6

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    @property
    def message_count(self) -> int:
        if self._content is None and self._counts is not None:
            return self._counts[0]
        return len(self.input_messages) + len(self.output_messages)

    @property
    def tool_call_count(self) -> int:
        if self._content is None and self._counts is not None:
            return self._counts[1]
        return sum(len(m.tool_calls) for m in self.input_messages + self.output_messages)


def call_key(call_id: str) -> str:
    """The key of a tool call by its id (long ids digested: the keys of a huge trace stay small)."""
    return "id:" + (call_id if len(call_id) <= 64 else text_digest(call_id))


def _call_keys(content: Content) -> tuple[tuple[str, str], ...]:
    """(key, name) of each tool call the messages hold, once each: by its id, or for a call without one by
    its name, arguments and how many such came before it in the span, so the history a later model call
    replays gives the same keys again and is not counted twice."""
    keys: dict[str, str] = {}
    seen: dict[str, int] = {}
    for message in content.input_messages + content.output_messages:
        for call in message.tool_calls:
            if call.id:
                keys.setdefault(call_key(call.id), call.name)
                continue
            digest = text_digest(f"{call.name}\0{call.arguments}")
            seen[digest] = seen.get(digest, 0) + 1
            keys.setdefault(f"call:{digest}:{seen[digest]}", call.name)
    return tuple(keys.items())


def count_tool_calls(spans: list[Span]) -> int:
    """Distinct tool calls: those the model asked for in a message, and tool spans that ran one. A tool
    span is the run of the call with its id, or else of a not yet matched call of its name; one that
    matches no call (the trace records tool runs but not the messages asking for them) counts on its own.
    """
    calls: dict[str, str] = {}
    for span in spans:
        for key, name in span.tool_call_keys():
            calls.setdefault(key, name)
    tools = [s for s in spans if s.kind == "tool"]
    matched = {call_key(s.tool_call_id) for s in tools if s.tool_call_id and call_key(s.tool_call_id) in calls}
    free: dict[str, int] = {}
    for key, name in calls.items():
        if key not in matched:
            free[name] = free.get(name, 0) + 1
    alone = 0
    for span in tools:
        if span.tool_call_id and call_key(span.tool_call_id) in matched:
            continue
        name = span.tool_name or span.name
        if free.get(name, 0):
            free[name] -= 1
        else:
            alone += 1
    return len(calls) + alone


class _SharedText(str):
    """A long system prompt, one object for every span that repeats it (a str subclass: weakly referable)."""


# Long system prompts by digest while a span holds them: an agent's every model call repeats its
# system prompt, and a packed span refers to this one copy instead of holding its own.
_SHARED: weakref.WeakValueDictionary[str, _SharedText] = weakref.WeakValueDictionary()


def _shared_text(key: str, text: str) -> str:
    found = _SHARED.get(key)
    if found is not None and found == text:
        return found
    made = _SharedText(text)
    if found is None:  # a different text under the same digest (a collision) is simply not shared
        _SHARED[key] = made
    return made


def _message_tuple(m: Message, shared: tuple[str, ...]) -> tuple[Any, ...]:
    content: str | int = m.content
    if m.role == "system" and len(m.content) >= SHARED_MIN:
        content = next((i for i, text in enumerate(shared) if text == m.content), m.content)
    return (m.role, content, tuple((c.name, c.arguments, c.id) for c in m.tool_calls), m.tool_call_id, m.name,
            m.reasoning, m.finish_reason, m.time_ns)


def _message(t: tuple[Any, ...], shared: tuple[str, ...]) -> Message:
    content = str(shared[t[1]]) if type(t[1]) is int else t[1]  # a plain str again: serialisers want one
    return Message(t[0], content, [ToolCall(*c) for c in t[2]], *t[3:])


def _pack(c: Content, shared: tuple[str, ...]) -> bytes:
    """`marshal` of plain tuples (b"M"; a long system prompt in `shared` is its index there), or pickle
    (b"P") when a library caller put in a value marshal cannot hold (readers only produce JSON values)."""
    plain = (tuple(_message_tuple(m, shared) for m in c.input_messages),
             tuple(_message_tuple(m, shared) for m in c.output_messages),
             c.input_text, c.output_text, c.tool_args, c.tool_result, c.prompt, c.attributes, c.events, c.scores,
             c.warnings)
    try:
        return b"M" + marshal.dumps(plain)
    except ValueError:
        return b"P" + pickle.dumps(c, protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(blob: bytes, shared: tuple[str, ...]) -> Content:
    if blob[:1] == b"P":
        content: Content = pickle.loads(blob[1:])
        return content
    t = marshal.loads(blob[1:])
    return Content([_message(m, shared) for m in t[0]], [_message(m, shared) for m in t[1]], *t[2:])


@dataclass(slots=True)
class Trace:
    trace_id: str
    format: str
    source: str = ""
    name: str = ""
    spans: list[Span] = field(default_factory=list)  # every span, in source order
    roots: list[Span] = field(default_factory=list)  # filled by build_tree
    orphans: list[Span] = field(default_factory=list)  # placed under _orphans/, with problems saying why
    problems: list[str] = field(default_factory=list)  # what the reader or the tree could not place
    metadata: dict[str, Any] = field(default_factory=dict)  # trace-level input/output/scores/resources
    # Records the reader did not understand, by kind; each is kept verbatim (as an event of the root
    # span) and counted in the export's trace.json and README, so nothing is dropped silently.
    unread: dict[str, int] = field(default_factory=dict)

    def keep_unread(self, span: Span, kind: str, record: dict[str, Any], time_ns: int | None = None) -> None:
        """Keep a record no reader rule understood, verbatim, as an event of `span`, and count it."""
        span.events.append({"name": f"unread {kind}", "time_ns": time_ns, "attributes": record})
        self.unread[kind] = self.unread.get(kind, 0) + 1

    def counts(self) -> dict[str, int]:
        return {
            "spans": len(self.spans),
            "messages": sum(s.message_count for s in self.spans),
            "tool_calls": count_tool_calls(self.spans),
            "tool_spans": sum(1 for s in self.spans if s.kind == "tool"),
            "errors": sum(1 for s in self.spans if s.status == "error"),
        }
