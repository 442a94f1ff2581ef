"""Inspect AI eval logs: `.json` (`--log-format json`, `inspect log dump`) and `.eval` archives (`load.py`
reads one as the same document, `archive.py`).

A log is one eval run: its header (`version`, `status`, `eval`, `plan`, `results`, `stats`, `error`) and
its `samples`, each one AI interaction, so each sample is a trace. A sample's root span (an agent) has
the sample's input, target, scores, error and limit; its `events` make the tree: `span_begin` /
`span_end` open and close spans (init, solvers, a solver, a tool, an agent, scorers) and every other
event belongs to the span its `span_id` names. A `model` event is a model call (its input messages, the
output's choices, usage, the raw provider call kept as an attribute), a `tool` event a tool span (its
function, arguments, result, error; events nested in it are its children; the `tool` span Inspect opens
for the call, with its sandbox events, is that span), a `score` event a score of
its span; `state`, `store`, `sample_init`, `sandbox`, `info`, `logger`, `input`, `approval` and any
other event are kept verbatim as events of their span (an `error` event also fails it). Logs older than
spans mark solver steps with `step` events (`action` begin / end), read the same way.

Texts Inspect moved out of the events (`attachment://<hash>`, the sample's `attachments`) are put
back, and so are the messages a model event names by range in the sample's `message_pool` (`input_refs`,
as newer logs deduplicate them); an attachment or pooled message nothing refers to is kept on the root. The conversation's messages that no
model call shows (a log without events, a tool result after the last call) are the root's messages.
A log without samples is one trace of its header."""

from __future__ import annotations

import re
from typing import Any

from agentbook.errors import FatalError

from ..load import Documents
from ..model import Message, Span, ToolCall, Trace
from ..values import as_dict, as_int, as_list, as_text, to_ns
from . import Reader

HEADER = ("version", "status", "eval", "plan", "results", "stats", "error")
ATTACHMENT = re.compile(r"attachment://([0-9a-f]{32})")
MESSAGE_READ = {"role", "content", "tool_calls", "tool_call_id", "function"}
CALL_READ = {"id", "function", "arguments"}
USAGE_READ = {"input_tokens", "output_tokens"}
# A reference is short and what it names need not be: 3,000 references to one 1 MiB attachment (a 2.5 KB
# archive) took 2.7 GB before a MemoryError, 5,000 model calls each naming a 5,000-message pool 3 GB. What a
# log puts back is bounded for the whole file; a million pooled messages export as a million files.
MAX_PUT_BACK = 256 << 20  # characters of attachment text
MAX_POOLED = 1_000_000  # messages named by `input_refs`


class _Growth:
    """What putting a file's attachments and pooled messages back has added so far, and its bounds."""

    def __init__(self, source: str) -> None:
        self.source, self.chars, self.messages = source, 0, 0

    def add(self, chars: int = 0, messages: int = 0) -> None:
        self.chars += chars
        self.messages += messages
        if self.chars > MAX_PUT_BACK:
            self._refuse(f"its attachment:// references put back more than {MAX_PUT_BACK >> 20} MiB of text")
        if self.messages > MAX_POOLED:
            self._refuse(f"its model events name more than {MAX_POOLED:,} messages of the message pool")

    def _refuse(self, what: str) -> None:
        raise FatalError(f"{self.source}: {what}", hint="far more than a real Inspect log repeats; it is refused "
                                                        "so that it cannot exhaust the runner's memory")


def _detect(docs: list[Any]) -> bool:
    doc = docs[0]
    return (isinstance(doc, dict) and isinstance(doc.get("eval"), dict) and "task" in doc["eval"]
            and ("samples" in doc or "results" in doc or "plan" in doc))


class _Attachments:
    """A sample's attachments, put back where `attachment://<hash>` stands; remembers which were used."""

    def __init__(self, table: Any, growth: _Growth) -> None:
        self.table = {str(k): v for k, v in as_dict(table).items()}
        self.used: set[str] = set()
        self.growth = growth

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            return ATTACHMENT.sub(self._text, value) if "attachment://" in value else value
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def _text(self, match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in self.table:
            return match.group(0)
        self.used.add(key)
        text = as_text(self.table[key])
        self.growth.add(chars=len(text))
        return text

    def references(self) -> list[str]:
        """The `attachment://` references put back, as the log wrote them."""
        return [f"attachment://{k}" for k in sorted(self.used)]

    def unused(self) -> dict[str, Any]:
        return {k: v for k, v in self.table.items() if k not in self.used}


def _message(obj: Any) -> tuple[Message, dict[str, Any]]:
    """An Inspect chat message, and what it carries beyond role, text, reasoning and calls."""
    if not isinstance(obj, dict):
        return Message(role="user", content=as_text(obj)), {}
    msg = Message(role=str(obj.get("role") or "user"), tool_call_id=str(obj.get("tool_call_id") or ""),
                  name=str(obj.get("function") or ""))
    rest = {k: v for k, v in obj.items() if k not in MESSAGE_READ and v not in (None, "", {}, [])}
    texts: list[str] = []
    content = obj.get("content")
    for n, part in enumerate(content if isinstance(content, list) else [content]):
        if isinstance(part, dict) and part.get("type") == "text" and part.keys() <= {"type", "text", "refusal"}:
            texts.append(as_text(part.get("text")))
        elif isinstance(part, dict) and part.get("type") == "reasoning":
            msg.reasoning += as_text(part.get("reasoning") or part.get("summary") or "")
            if extra := {k: v for k, v in part.items() if k not in ("type", "reasoning") and v not in (None, "")}:
                rest[f"content.{n}"] = extra
        elif part is not None:
            texts.append(as_text(part))  # a text, or a part of another kind (image, data, ...) whole
    calls = []
    for n, call in enumerate(as_list(obj.get("tool_calls"))):
        call = as_dict(call)
        calls.append(ToolCall(name=as_text(call.get("function")), arguments=as_text(call.get("arguments")),
                              id=as_text(call.get("id"))))
        if extra := {k: v for k, v in call.items() if k not in CALL_READ and v not in (None, "", {}, [])}:
            rest[f"tool_calls.{n}"] = extra
    msg.tool_calls = calls
    msg.content = "\n".join(t for t in texts if t)
    return msg, rest


def _messages(values: Any) -> tuple[list[Message], dict[str, Any]]:
    out, fields = [], {}
    for n, value in enumerate(as_list(values)):
        msg, rest = _message(value)
        out.append(msg)
        if rest:
            fields[str(n)] = rest
    return out, fields


class _Sample:
    """One sample being read: its trace, root span and the spans its events open."""

    def __init__(self, trace: Trace, root: Span, growth: _Growth) -> None:
        self.trace, self.root, self.growth = trace, root, growth
        self.spans: dict[str, Span] = {}
        self.steps: list[Span] = []  # open legacy `step` spans, innermost last
        self.seen: set[str] = set()  # ids of the messages a model call shows
        self.tool_spans: dict[tuple[str, str], list[Span]] = {}  # `tool` spans no tool event took yet
        self.count = 0
        self.ids: set[str] = {root.span_id}  # span ids given out, so that none is given twice
        self.dups = 0
        self.pool: list[Any] = []  # the sample's message_pool, which model events refer to by index
        self.pool_used: set[int] = set()

    def new(self, parent: Span, kind: str, name: str, time_ns: int | None, span_id: str = "") -> Span:
        self.count += 1
        wanted = span_id or f"{self.root.span_id}-{self.count}"
        while wanted in self.ids:  # an event's id may spell one made here (`span_begin` id "3"), or repeat
            self.dups += 1  # one counter for all: each id taken costs one more try at most
            wanted = f"{span_id or self.root.span_id + '-' + str(self.count)}~{self.dups}"
        self.ids.add(wanted)
        span = Span(span_id=wanted, parent_id=parent.span_id,
                    trace_id=self.trace.trace_id, kind=kind, name=name, start_ns=time_ns, end_ns=time_ns,
                    status="ok")
        self.trace.spans.append(span)
        return span

    def parent_of(self, event: dict[str, Any], default: Span) -> Span:
        found = self.spans.get(as_text(event.get("span_id")))
        return found or (self.steps[-1] if self.steps else default)

    def events(self, events: list[Any], default: Span) -> None:
        for event in events:
            if isinstance(event, dict):
                self.event(event, default)
            else:
                self.trace.keep_unread(default, "event", {"value": event})

    def event(self, event: dict[str, Any], default: Span) -> None:
        kind, time_ns = as_text(event.get("event")), to_ns(event.get("timestamp"))
        if kind == "span_begin":
            self.begin(event, default, time_ns)
        elif kind == "span_end" and as_text(event.get("id")) in self.spans:
            ended = self.spans[as_text(event.get("id"))]
            ended.end_ns = time_ns or ended.end_ns
            ended.attributes.update({f"end.{k}": v for k, v in _rest(event, {"event", "timestamp", "id", "span_id"}).items()})
        elif kind == "step" and event.get("action") == "begin":
            span = self.new(self.parent_of(event, default), "chain", as_text(event.get("name")) or "step", time_ns)
            span.attributes.update(_rest(event, {"event", "timestamp", "name"}))
            self.steps.append(span)
        elif kind == "step" and event.get("action") == "end" and self.steps:
            span = self.steps.pop()
            span.end_ns = time_ns
            span.attributes.update({f"end.{k}": v for k, v in _rest(event, {"event", "timestamp"}).items()})
        elif kind == "model":
            self.model(event, self.parent_of(event, default), time_ns)
        elif kind == "tool":
            self.tool(event, self.parent_of(event, default), time_ns)
        else:
            self.other(kind, event, self.parent_of(event, default), time_ns)

    def begin(self, event: dict[str, Any], default: Span, time_ns: int | None) -> None:
        parent = self.spans.get(as_text(event.get("parent_id"))) or default
        span_type, ident = as_text(event.get("type")), as_text(event.get("id"))
        span = self.new(parent, "agent" if span_type == "agent" else "chain",
                        as_text(event.get("name")) or span_type or "span", time_ns,
                        f"{self.root.span_id}-{ident}" if ident and ident not in self.spans else "")
        span.attributes.update(_rest(event, {"event", "timestamp", "id", "parent_id", "name", "span_id"}))
        self.spans[ident] = span
        if span_type == "tool":  # the tool event (in the parent span) is this span's: it becomes the tool span
            self.tool_spans.setdefault((parent.span_id, span.name), []).append(span)

    def pooled(self, event: dict[str, Any]) -> list[Any]:
        """A model event's input: its own messages, then those its `input_refs` ranges name in the
        sample's `message_pool` (`[start, end)`, as Inspect deduplicates them)."""
        found = list(as_list(event.get("input")))
        for ref in as_list(event.get("input_refs")):
            bounds = [as_int(v) for v in as_list(ref)]
            if len(bounds) == 2 and bounds[0] is not None and bounds[1] is not None:
                picked = range(max(bounds[0], 0), min(bounds[1], len(self.pool)))
                self.growth.add(messages=len(picked))
                self.pool_used.update(picked)
                found += [self.pool[i] for i in picked]
        return found

    def model(self, event: dict[str, Any], parent: Span, time_ns: int | None) -> None:
        span = self.new(parent, "llm", as_text(event.get("model")) or "model", time_ns)
        event = {**event, "input": self.pooled(event)}
        span.model = as_text(event.get("model"))
        span.end_ns = to_ns(event.get("completed")) or time_ns
        span.input_messages, fields = _messages(event.get("input"))
        if fields:
            span.attributes["input.message_fields"] = fields
        output = as_dict(event.get("output"))
        outputs, out_fields = [], {}
        for n, choice in enumerate(as_list(output.get("choices"))):
            msg, rest = _message(as_dict(choice).get("message"))
            msg.finish_reason = as_text(as_dict(choice).get("stop_reason"))
            outputs.append(msg)
            if fields_of_choice := {**rest, **_rest(as_dict(choice), {"message", "stop_reason"})}:
                out_fields[str(n)] = fields_of_choice
        span.output_messages = outputs
        if out_fields:
            span.attributes["output.message_fields"] = out_fields
        self.seen.update(as_text(as_dict(m).get("id")) for m in as_list(event.get("input")))
        self.seen.update(as_text(as_dict(as_dict(c).get("message")).get("id")) for c in as_list(output.get("choices")))
        usage = as_dict(output.get("usage"))
        span.input_tokens, span.output_tokens = as_int(usage.get("input_tokens")), as_int(usage.get("output_tokens"))
        if more := _rest(usage, USAGE_READ):
            span.attributes["usage"] = more
        if more := _rest(output, {"choices", "usage"}):
            span.attributes["output"] = more
        _fail(span, event.get("error"))
        span.attributes.update(_rest(event, {"event", "timestamp", "span_id", "model", "input", "output", "completed",
                                             "error"}))

    def tool(self, event: dict[str, Any], parent: Span, time_ns: int | None) -> None:
        name = as_text(event.get("function"))
        waiting = self.tool_spans.get((parent.span_id, name))
        if waiting:  # the span Inspect opened for this call: its sandbox and store events stay in it
            span = waiting.pop(0)
            span.kind = "tool"
        else:
            span = self.new(parent, "tool", name or "tool", time_ns)
        span.start_ns = time_ns or span.start_ns
        span.end_ns = to_ns(event.get("completed")) or span.end_ns or time_ns
        span.tool_name, span.tool_call_id = name, as_text(event.get("id"))
        span.tool_args = as_text(event.get("arguments"))
        span.tool_result = as_text(event.get("result"))
        _fail(span, event.get("error"))
        for key, value in _rest(event, {"event", "timestamp", "span_id", "function", "id", "arguments", "result",
                                        "completed", "error", "events"}).items():  # the opened span's stay too
            span.attributes[f"tool_event.{key}" if key in span.attributes else key] = value
        self.events(as_list(event.get("events")), span)

    def other(self, kind: str, event: dict[str, Any], parent: Span, time_ns: int | None) -> None:
        if kind == "score":
            score = as_dict(event.get("score"))
            parent.scores.append({"name": parent.name if parent is not self.root else "score",
                                  "value": score.get("value"), **_rest(score, {"value"}),
                                  **_rest(event, {"event", "timestamp", "span_id", "score"})})
            return
        if kind == "error":
            _fail(parent, event.get("error"))
        parent.events.append({"name": kind or "event", "time_ns": time_ns,
                              "attributes": _rest(event, {"event", "timestamp", "span_id"})})


def _rest(obj: dict[str, Any], read: set[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in read and v not in (None, "", {}, [])}


def _fail(span: Span, error: Any) -> None:
    if error in (None, "", {}):
        return
    span.status = "error"
    err = as_dict(error)
    span.status_message = as_text(err.get("message") or error)[:2000]
    if err and _rest(err, {"message"}):
        span.attributes["error"] = err


def _header(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in HEADER if doc.get(k) not in (None, "", {}, [])}


def _sample(doc: dict[str, Any], sample: dict[str, Any], source: str, n: int, growth: _Growth) -> Trace:
    evaluation = as_dict(doc.get("eval"))
    task = as_text(evaluation.get("task")) or "eval"
    ident = f"{as_text(sample.get('id')) or n}-epoch-{as_text(sample.get('epoch')) or 1}"
    trace = Trace(trace_id=ident, format="inspect", source=source, name=task)
    trace.metadata.update(_header(doc) if n == 0 else {k: v for k, v in _header(doc).items()
                                                        if k in ("version", "status", "error")})
    if n:
        trace.metadata["eval"] = {k: evaluation[k] for k in ("eval_id", "run_id", "task", "model", "created")
                                  if k in evaluation}
    attachments = _Attachments(sample.get("attachments"), growth)
    sample = attachments.resolve({k: v for k, v in sample.items() if k != "attachments"})
    root = Span(span_id=f"sample-{ident}", trace_id=ident, kind="agent", name=f"{task} sample {ident}",
                model=as_text(evaluation.get("model")), status="ok")
    trace.spans.append(root)
    root.input_text = as_text(sample.get("input"))
    output = as_dict(sample.get("output"))
    root.output_text = "\n".join(_message(as_dict(c).get("message"))[0].content for c in as_list(output.get("choices")))
    for name, score in as_dict(sample.get("scores")).items():
        root.scores.append({"name": name, **(score if isinstance(score, dict) else {"value": score})})
    _fail(root, sample.get("error"))
    if sample.get("limit"):
        root.warnings.append(f"limit reached: {as_text(sample['limit'])[:300]}")
    reader = _Sample(trace, root, growth)
    reader.pool = as_list(sample.get("message_pool"))
    events = sample.get("events")
    if events is None:  # older logs: a transcript holding the events
        events = as_dict(sample.get("transcript")).get("events")
    reader.events(as_list(events), root)
    unseen = [m for m in as_list(sample.get("messages")) if as_text(as_dict(m).get("id")) not in reader.seen
              or not as_dict(m).get("id")]
    root.input_messages, fields = _messages(unseen)
    if fields:
        root.attributes["message_fields"] = fields
    read = {"input", "messages", "events", "scores", "error", "limit", "message_pool"} | (
        {"transcript"} if events is not None else set())
    if unused_pool := [m for n, m in enumerate(reader.pool) if n not in reader.pool_used]:
        root.attributes["message_pool_unreferenced"] = unused_pool
    root.attributes.update(_rest(sample, read))
    if output and not _rest(output, {"choices"}) and root.output_text:
        root.attributes.pop("output", None)  # only its text, which the root's output shows
    if attachments.used:
        root.attributes["attachments_put_back"] = attachments.references()
    if unused := attachments.unused():
        root.attributes["attachments"] = unused
    times = [t for s in trace.spans for t in (s.start_ns, s.end_ns) if t is not None]
    if times:
        root.start_ns, root.end_ns = min(times), max(times)
    root.input_tokens = sum(s.input_tokens or 0 for s in trace.spans if s.kind == "llm") or None
    root.output_tokens = sum(s.output_tokens or 0 for s in trace.spans if s.kind == "llm") or None
    return trace


def _run_only(doc: dict[str, Any], source: str) -> Trace:
    """A log without samples: one span for the run, its header as metadata."""
    evaluation = as_dict(doc.get("eval"))
    ident = as_text(evaluation.get("run_id") or evaluation.get("eval_id") or "eval")
    trace = Trace(trace_id=ident, format="inspect", source=source, name=as_text(evaluation.get("task")) or "eval")
    trace.metadata.update(_header(doc))
    root = Span(span_id="run", trace_id=ident, kind="agent", name=trace.name, model=as_text(evaluation.get("model")),
                status="ok", start_ns=to_ns(as_dict(doc.get("stats")).get("started_at")),
                end_ns=to_ns(as_dict(doc.get("stats")).get("completed_at")))
    _fail(root, doc.get("error"))
    trace.spans.append(root)
    return trace


def _read(docs: Documents, source: str) -> list[Trace]:
    traces, growth = [], _Growth(source)
    for doc in docs.iterate():
        if not isinstance(doc, dict):
            continue
        samples = [s for s in as_list(doc.get("samples")) if isinstance(s, dict)]
        traces += [_sample(doc, s, source, n, growth) for n, s in enumerate(samples)] or [_run_only(doc, source)]
        others = [s for s in as_list(doc.get("samples")) if not isinstance(s, dict)]
        if others:
            traces[0].metadata["not_read"] = others
            traces[0].problems.append(f"{len(others)} sample(s) are not objects: kept in trace.json")
        rest = {k: v for k, v in doc.items() if k not in (*HEADER, "samples")}
        if rest:
            traces[0].metadata.update(rest)
    return traces


READER = Reader(name="inspect", priority=55, detect=_detect, read=_read,
                expects="Inspect AI eval log (`version`, `status`, `eval` with `task`, `samples[]` with `messages`, "
                        "`events`)")
