"""Codex CLI sessions (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`).

Each line is `{"timestamp", "type", "payload"}`: `session_meta` (id, cwd, cli version, instructions),
`turn_context` (model, policies), `response_item` (the conversation: `message` by role, `reasoning`,
`function_call` / `custom_tool_call` / `local_shell_call` and their `*_output` by `call_id`), and
`event_msg` (UI events: `token_count`, `user_message`, `agent_message`, `error`, ...). Earlier releases
wrote the session's `{id, timestamp, instructions}` as the first line and the response items bare, one a
line, with `{"record_type": "state"}` lines between: read the same way.

The session becomes an agent span; each run of model output (reasoning, assistant text, tool calls)
between inputs becomes an llm span whose input is what came since the previous one; each tool call a
tool span under it, failed when its output says a non-zero exit code. Token counts come from the
`token_count` events. Records of unknown types are kept verbatim on the root span and counted.

A `spawn_agent` call starts a child thread with a rollout of its own, whose `session_meta.source`
names it (`subagent.thread_spawn`: `parent_thread_id`, `spawn_call_id`). Read from its parent's file, a
child rollout in the same folder (named by the thread id the call's result or its `collab_*` event
gives, or naming this session as its parent) becomes an agent span under the spawning call's tool
span, its own children under it in turn. A forked child's rollout first repeats its parent's history up
to the spawning call: that part goes under a chain span of its own ("inherited from the parent"). A
child rollout read alone is a trace of its own whose name and `parent_thread_id` point to its parent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

from ..load import Documents, load_documents
from ..model import Message, Span, ToolCall, Trace
from ..values import as_dict, as_int, as_list, as_text, maybe_json, to_ns
from . import Reader
from .common import SessionLog

RECORD_TYPES = {"session_meta", "turn_context", "response_item", "event_msg", "compacted"}
CALLS = {"function_call", "custom_tool_call", "local_shell_call", "web_search_call", "tool_search_call"}
OUTPUTS = {"function_call_output", "custom_tool_call_output", "local_shell_call_output", "tool_search_output"}
ECHOES = {"user_message", "agent_message", "agent_reasoning"}  # UI copies of response items
ITEMS = {"message", "reasoning"} | CALLS | OUTPUTS  # response items, as the earlier bare lines have them
THREAD_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_DEPTH = 8  # children of children read in a parent's export (a deeper chain is left as a note)
MAX_SIBLINGS = 2000  # rollouts of a folder looked at for children (a day's folder holds a few dozen)
MAX_HEAD_BYTES = 1 << 16  # a rollout's first line (session_meta) is read only this far to find its parent


def _detect(docs: list[Any]) -> bool:
    return all(isinstance(d, dict) for d in docs) and (any(
        _kind(d.get("type")) in RECORD_TYPES and isinstance(d.get("payload"), dict) for d in docs) and any(
        _kind(d.get("type")) in ("session_meta", "response_item", "turn_context") for d in docs) or _bare(docs))


def _bare(docs: list[Any]) -> bool:
    """The earlier rollout: a `{id, timestamp}` session line, then bare response items."""
    head = docs[0] if docs and isinstance(docs[0], dict) else {}
    return "id" in head and "timestamp" in head and "type" not in head and "payload" not in head and any(
        isinstance(d, dict) and _kind(d.get("type")) in ITEMS and "payload" not in d for d in docs[1:])


def _enveloped(n: int, rec: dict[str, Any]) -> dict[str, Any]:
    """A line of the earlier rollout as the current one writes it."""
    if n == 0:
        return {"timestamp": rec.get("timestamp"), "type": "session_meta", "payload": rec}
    if _kind(rec.get("type")) in ITEMS and "payload" not in rec:
        return {"type": "response_item", "payload": rec}
    return {"type": f"record {rec.get('record_type')}" if "record_type" in rec else rec.get("type"), "payload": rec}


class _Session(SessionLog):
    def __init__(self, source: str) -> None:
        super().__init__(Trace(trace_id="codex-session", format="codex", source=source, name="codex session"),
                         Span(span_id="session", trace_id="codex-session", kind="agent", name="codex session", status="ok"))
        self.turn: Span | None = None  # the llm span collecting the current run of model output
        self.model = ""
        self.base = self.root  # where model turns go: the root, or the chain of a fork's inherited history
        self.inherit_until = ""  # a forked child: the spawning call whose record ends the inherited history
        self.spawned: dict[str, str] = {}  # spawning call id -> the child thread id it started
        self.parent_thread = self.spawn_call = ""  # a child: its parent thread and the call that spawned it
        self.echoes_are_messages = False  # no `message` response items: the UI's copies are the conversation

    def add(self, n: int, rec: dict[str, Any]) -> None:
        now = to_ns(rec.get("timestamp"))
        self.widen(now)
        kind, payload = _kind(rec.get("type")), rec.get("payload")
        if not isinstance(payload, dict):
            self.trace.keep_unread(self.root, str(kind or "record"), rec, now)
        elif kind == "session_meta":
            self.on_meta(payload)
        elif kind == "turn_context":  # model and policies, which may change from turn to turn
            self.model = str(payload.get("model") or self.model)
            self.root.model = self.root.model or self.model
            self.root.events.append({"name": "turn_context", "time_ns": now, "attributes": payload})
        elif kind == "response_item":
            self.on_item(n, payload, now, rec)
        elif kind == "event_msg":
            self.on_event(n, payload, now)
        else:
            self.trace.keep_unread(self.root, str(kind or "record"), rec, now)

    def on_meta(self, payload: dict[str, Any]) -> None:
        session = str(payload.get("id") or "codex-session")
        self.trace.trace_id = session
        for span in self.trace.spans:
            span.trace_id = session
        self.trace.name = f"codex session {session}"
        instructions = payload.get("instructions") or payload.get("base_instructions")
        if instructions:
            self.pending.append(Message(role="system", content=_text(instructions)))
        self.root.attributes["session_meta"] = {k: v for k, v in payload.items()
                                                if k not in ("id", "instructions", "base_instructions")}
        spawn = spawn_source(payload)
        if spawn and not self.parent_thread:
            self.parent_thread, self.spawn_call = spawn
            self.trace.name = f"codex subagent {session} of thread {self.parent_thread}"
            self.root.name = f"codex subagent {session}"
            self.trace.metadata["parent_thread_id"] = self.root.attributes["parent_thread_id"] = self.parent_thread
            if self.inherit_until:
                self.base = self.child(self.root, "inherited", kind="chain", status="ok",
                                       name=f"history inherited from thread {self.parent_thread}")

    def on_item(self, n: int, item: dict[str, Any], now: int | None, rec: dict[str, Any]) -> None:
        kind = _kind(item.get("type"))
        if kind == "message" and item.get("role") != "assistant":
            self.pending.append(Message(role=str(item.get("role") or "user"), content=_text(item.get("content")),
                                        time_ns=now))
            self.turn = None
        elif kind in OUTPUTS:
            self.on_output(item, now)
            self.turn = None
        elif kind == "message" or kind == "reasoning" or kind in CALLS:
            if self.turn is not None and rec.get("timestamp"):  # a later item of the same run of output
                self.turn.attributes.setdefault("continued_at", []).append(rec["timestamp"])
            turn = self.current_turn(n, now)
            reply = turn.output_messages[-1]
            if kind == "message":
                reply.content = "\n".join(x for x in (reply.content, _text(item.get("content"))) if x)
            elif kind == "reasoning":
                reply.reasoning += "\n".join(as_text(as_dict(s).get("text") or s) for s in as_list(item.get("summary")))
                reply.reasoning += _text(item.get("content")) if item.get("content") else ""
                if item.get("encrypted_content"):
                    turn.attributes.setdefault("reasoning.encrypted_content", []).append(item["encrypted_content"])
            else:
                self.on_call(turn, reply, item, now)
                if self.inherit_until and str(item.get("call_id") or "") == self.inherit_until:
                    self.base, self.turn, self.inherit_until = self.root, None, ""  # the child's own records follow
        else:
            self.trace.keep_unread(self.root, f"response_item {kind}", rec, now)

    def current_turn(self, n: int, now: int | None) -> Span:
        if self.turn is None:
            self.turn = self.child(self.base, f"turn-{n:05d}", kind="llm", name=f"{self.model or 'model'} turn",
                                   start_ns=now, end_ns=now, status="ok", model=self.model)
            self.turn.input_messages, self.pending = self.pending, []
            self.turn.output_messages.append(Message(role="assistant", time_ns=now))
        self.turn.end_ns = now or self.turn.end_ns
        return self.turn

    def on_call(self, turn: Span, reply: Message, item: dict[str, Any], now: int | None) -> None:
        kind = str(item.get("type"))
        args = item.get("arguments", item.get("input", item.get("action")))
        name = str(item.get("name") or kind.removesuffix("_call"))
        call = ToolCall(name=name, arguments=as_text(args), id=str(item.get("call_id") or item.get("id") or ""))
        tool = self.tool_call(turn, reply, call, now)
        tool.attributes["call.type"] = kind
        rest = {k: v for k, v in item.items() if k not in ("type", "name", "arguments", "input", "action", "call_id")}
        if rest:
            tool.attributes.update(rest)
        if item.get("status") in ("failed", "incomplete"):
            tool.status, tool.status_message = "error", f"call {item['status']}"

    def on_output(self, item: dict[str, Any], now: int | None) -> None:
        call_id = str(item.get("call_id") or "")
        output = item.get("output")
        parsed = maybe_json(output)
        text = _text(parsed.get("output")) if isinstance(parsed, dict) and "output" in parsed else _text(output)
        tool = self.tool_result(call_id, text, now)
        if tool is None:
            return
        tool.attributes["output.type"] = item.get("type")
        if tool.tool_name == "spawn_agent":  # `{"agent_id": ...}`, or a sentence naming the new thread
            found = THREAD_ID.search(as_text(parsed.get("agent_id")) if isinstance(parsed, dict) else text)
            if found:
                self.spawned.setdefault(call_id, found.group(0))
        meta = as_dict(parsed.get("metadata")) if isinstance(parsed, dict) else {}
        if meta:
            tool.attributes["output.metadata"] = meta
        code = as_int(meta.get("exit_code"))
        if code not in (None, 0) or (isinstance(parsed, dict) and parsed.get("success") is False):
            tool.status = "error"
            tool.status_message = f"exit code {code}: {_first_line(text)}" if code is not None else _first_line(text)

    def on_event(self, n: int, payload: dict[str, Any], now: int | None) -> None:
        kind = _kind(payload.get("type"))
        if kind in ECHOES and self.echoes_are_messages:
            self.on_echo(n, kind, payload, now)
            return
        if kind == "token_count":
            info = as_dict(payload.get("info"))
            last, total = as_dict(info.get("last_token_usage")), as_dict(info.get("total_token_usage"))
            target = self.turn or next((s for s in reversed(self.trace.spans) if s.kind == "llm"), None)
            if last and target is not None:
                target.input_tokens = as_int(last.get("input_tokens"))
                target.output_tokens = as_int(last.get("output_tokens"))
                target.attributes["usage"] = last
            if total:
                self.root.input_tokens = as_int(total.get("input_tokens"))
                self.root.output_tokens = as_int(total.get("output_tokens"))
            if info:  # the session's running totals (cached, reasoning, all tokens) and context window: the latest
                self.root.attributes["token_usage"] = {k: v for k, v in info.items() if k != "last_token_usage"}
            if payload.get("rate_limits"):
                self.root.attributes["rate_limits"] = payload["rate_limits"]
        elif kind in ECHOES:
            self.root.events.append({"name": str(kind), "time_ns": now, "attributes": payload})
        elif kind in ("error", "stream_error", "turn_aborted"):
            message = as_text(payload.get("message") or payload.get("reason") or kind)
            self.root.events.append({"name": str(kind), "time_ns": now, "attributes": payload})
            self.root.warnings.append(f"{kind}: {message}")
            cut = self.turn or next((s for s in reversed(self.trace.spans) if s.kind == "llm"), None)
            if kind == "turn_aborted" and cut is not None:  # the last turn's calls still running were cut off
                for tool in self.tools.values():
                    if tool.parent_id == cut.span_id and tool.tool_result is None and tool.status == "ok":
                        tool.status, tool.status_message = "error", f"turn aborted ({message}) before the call returned"
        else:
            self.root.events.append({"name": str(kind), "time_ns": now, "attributes": payload})
            if isinstance(payload.get("new_thread_id"), str) and payload.get("call_id"):  # collab_* spawn events
                self.spawned[str(payload["call_id"])] = payload["new_thread_id"]

    def on_echo(self, n: int, kind: str, payload: dict[str, Any], now: int | None) -> None:
        """A UI copy of a message, read as the message (the rollout has no other); its other fields kept."""
        text = as_text(payload.get("message") if "message" in payload else payload.get("text"))
        if kind == "user_message":
            self.pending.append(Message(role="user", content=text, time_ns=now))
            self.turn = None
        else:
            reply = self.current_turn(n, now).output_messages[-1]
            field = "content" if kind == "agent_message" else "reasoning"
            setattr(reply, field, "\n".join(x for x in (getattr(reply, field), text) if x))
        rest = {k: v for k, v in payload.items() if k not in ("type", "message", "text")}
        if rest:
            self.root.events.append({"name": kind, "time_ns": now, "attributes": rest})

    def widen(self, now: int | None) -> None:
        super().widen(now)
        if now is not None and self.base is not self.root:
            self.base.start_ns = self.base.start_ns if self.base.start_ns is not None else now
            self.base.end_ns = now


def spawn_source(meta: dict[str, Any]) -> tuple[str, str] | None:
    """(parent thread id, spawning call id) of a child rollout's `session_meta`, else None."""
    spawn = as_dict(as_dict(as_dict(meta.get("source")).get("subagent")).get("thread_spawn"))
    parent = spawn.get("parent_thread_id")
    return (parent, as_text(spawn.get("spawn_call_id") or "")) if isinstance(parent, str) and parent else None


def _kind(value: Any) -> str:
    """A record's `type`, or "" when it is not a string (a damaged line must not stop the reader)."""
    return value if isinstance(value, str) else ""


def _text(content: Any) -> str:
    """Codex content: a string, or a list of `input_text` / `output_text` parts."""
    if isinstance(content, list):
        return "\n".join(as_text(p.get("text")) if isinstance(p, dict) and "text" in p else as_text(p)
                         for p in content)
    return as_text(content)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def _read(docs: Documents, source: str) -> list[Trace]:
    session = _session(docs, source)
    path = Path(source)
    if session.trace.trace_id != "codex-session":
        _adopt(session, children_index(path.parent), {session.trace.trace_id}, {path.resolve()}, 1)
    return [session.trace]


def _session(docs: Documents, source: str) -> _Session:
    session = _Session(source)
    bare = _bare(docs.head)
    session.echoes_are_messages, session.inherit_until = (False, "") if bare else _prescan(docs)
    for n, rec in enumerate(docs.iterate()):
        if not isinstance(rec, dict):
            rec = {"type": "not-an-object", "payload": rec}
        session.add(n, _enveloped(n, rec) if bare else rec)
    session.keep_unanswered()
    for tool in session.tools.values():
        if tool.tool_result is None and tool.status == "ok":
            tool.warnings.append("the rollout records no output for this call")
    return session


def _prescan(docs: Documents) -> tuple[bool, str]:
    """Whether the rollout has no `message` response items (then its UI echoes are its messages), and a
    forked child's spawning call id when its rollout repeats that call (the end of the history it
    inherited), else "". Stops as soon as both are known (a message item comes in the first turn)."""
    meta: dict[str, Any] = next((d["payload"] for d in docs.head if isinstance(d, dict)
                                 and d.get("type") == "session_meta" and isinstance(d.get("payload"), dict)), {})
    fork = (spawn_source(meta) or ("", ""))[1]
    messages, found = False, ""
    for rec in docs.iterate():
        item = as_dict(rec.get("payload")) if isinstance(rec, dict) and rec.get("type") == "response_item" else {}
        kind = _kind(item.get("type"))
        messages = messages or kind == "message"
        if fork and kind in CALLS and str(item.get("call_id") or "") == fork:
            found = fork
        if messages and (found or not fork):
            break
    return not messages, found


def children_index(folder: Path) -> dict[str, list[tuple[Path, str]]]:
    """The rollouts of `folder` that are child threads (file, own thread id), by the parent thread their
    `session_meta` names (only each file's first line is read; links are not followed)."""
    index: dict[str, list[tuple[Path, str]]] = {}
    if not folder.is_dir() or folder.is_symlink():
        return index
    for path in sorted(folder.glob("rollout-*.jsonl"))[:MAX_SIBLINGS]:
        if path.is_symlink() or not path.is_file():
            continue
        try:
            with path.open("rb") as fh:
                first = maybe_json(fh.read(MAX_HEAD_BYTES).split(b"\n", 1)[0].decode("utf-8", "replace"))
        except OSError:
            continue
        meta = as_dict(first.get("payload")) if isinstance(first, dict) and first.get("type") == "session_meta" else {}
        spawn = spawn_source(meta)
        if spawn:
            index.setdefault(spawn[0], []).append((path, as_text(meta.get("id") or "")))
    return index


def child_files(source: Path, docs: list[Any]) -> list[Path]:
    """Every rollout beside `source` that descends from its thread (children, their children, ...): what
    a parent's export reads besides `source` itself. `docs` are the file's documents."""
    meta = next((d["payload"] for d in docs if isinstance(d, dict) and d.get("type") == "session_meta"
                 and isinstance(d.get("payload"), dict)), None)
    if meta is None or not isinstance(meta.get("id"), str):
        return []
    index, found, todo = children_index(source.parent), [source.resolve()], [meta["id"]]
    while todo and len(found) <= MAX_SIBLINGS:
        for path, thread in index.get(todo.pop(), []):
            if path.resolve() not in found:
                found.append(path.resolve())
                todo.append(thread)
    return found[1:]


def _adopt(session: _Session, index: dict[str, list[tuple[Path, str]]], threads: set[str], files: set[Path],
           depth: int) -> None:
    """Each child rollout of `session`'s thread, read and put under the call that spawned it."""
    for path, _ in index.get(session.trace.trace_id, []):
        if path.resolve() in files:
            continue
        files.add(path.resolve())
        if depth > MAX_DEPTH:
            session.trace.problems.append(f"{path.name}: a child thread {depth} spawns deep: not read")
            continue
        try:
            docs = load_documents(path)
        except (OSError, FatalError) as err:
            session.trace.problems.append(f"{path.name}: child rollout not read: {err}")
            continue
        if docs is None or not _detect(docs.head):
            session.trace.problems.append(f"{path.name}: child rollout is not a Codex session: not read")
            continue
        child = _session(docs, str(path))
        if child.trace.trace_id in threads:
            session.trace.problems.append(f"{path.name}: thread {child.trace.trace_id} is read already: not read again")
            continue
        threads.add(child.trace.trace_id)
        _adopt(child, index, threads, files, depth + 1)
        child.trace.problems += docs.problems
        _graft(session, child, path.name)


def _graft(session: _Session, child: _Session, file: str) -> None:
    """`child`'s spans into `session`'s trace, its root under the tool span of the call that spawned it."""
    thread = child.trace.trace_id
    calls = [child.spawn_call] + [call for call, spawned in session.spawned.items() if spawned == thread]
    at = next((session.tools[c] for c in calls if c in session.tools), None)
    if at is None:
        session.trace.problems.append(f"{file}: the call that spawned thread {thread} is not in the parent's "
                                      "rollout: placed under the session")
    child.root.attributes["file"] = file
    prefix = f"thread-{thread}/"
    for span in child.trace.spans:
        span.span_id = prefix + span.span_id
        span.parent_id = prefix + span.parent_id if span.parent_id else (at or session.root).span_id
        span.trace_id = session.trace.trace_id
        session.trace.spans.append(span)
    if child.root.end_ns is not None and (session.root.end_ns is None or child.root.end_ns > session.root.end_ns):
        session.root.end_ns = child.root.end_ns  # the session lasts as long as the threads it spawned
    session.trace.problems += [f"{file}: {p}" for p in child.trace.problems]
    for kind, count in child.trace.unread.items():
        session.trace.unread[kind] = session.trace.unread.get(kind, 0) + count


READER = Reader(name="codex", priority=20, detect=_detect, read=_read,
                expects="Codex CLI session (JSON Lines of `{timestamp, type, payload}`: session_meta, response_item; "
                        "or an `{id, timestamp}` line, then bare response items)")
