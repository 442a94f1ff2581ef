"""Claude Code session transcripts (`~/.claude/projects/<project>/<session>.jsonl`).

Each line is one record: `user` and `assistant` lines carry an Anthropic `message` (content blocks:
`text`, `thinking`, `tool_use`, `tool_result`), with `uuid`/`parentUuid`, `sessionId`, `timestamp`,
and on assistant lines `requestId` and `usage`; newer versions write one line per content block of
the same message id. `summary` lines name the session; other record types (`system`,
`file-history-snapshot`, `queue-operation`, ...) are kept verbatim on the root span and counted.
The same records wrapped as `{"loglines": [...]}` (a session fetched from Claude Code on the web) are
read alike.

The session becomes an agent span; each assistant message an llm span whose input is what the
conversation gained since the previous one (user text, tool results), and each `tool_use` a tool span
under it whose result is the matching `tool_result` (`is_error` fails it). Sidechain records (Task
subagents) hang under one agent span per sidechain root, under the Task call whose result names its
`agentId`. Newer versions keep each subagent's records in a file of its own beside the session
(`<session>/subagents/agent-<agentId>.jsonl`, with `agent-<agentId>.meta.json` naming the Task call's
`toolUseId`; older ones `agent-<agentId>.jsonl` in the project folder): those are read after the
session, every record of a file belonging to the subagent its name says, whether or not it carries
`agentId`. 2.1 also copies each message of a running subagent into the session as a `progress` record
(`data.type` `agent_progress`, `data.agentId`, the Task call as `parentToolUseID`): a subagent whose
own file is not there is read from those copies, under that call; one whose file was read keeps its
copies verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

from ..load import Documents, load_documents
from ..model import Message, Span, ToolCall, Trace
from ..values import as_dict, as_float, as_int, as_list, as_text, to_ns
from . import Reader
from .common import SessionLog

MESSAGE_TYPES = {"user", "assistant"}
MAX_DANGLING = 5  # records with a missing parent said one by one; a damaged file could have thousands
CONSUMED = {"type", "uuid", "parentUuid", "sessionId", "timestamp", "message", "requestId", "isSidechain",
            "toolUseResult", "costUSD", "isApiErrorMessage"}
MESSAGE_FIELDS = {"role", "content", "id", "type", "model", "stop_reason", "stop_sequence", "usage"}
AGENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a subagent id that is safe to put in a file name
MAX_META_BYTES = 1 << 16  # an agent-<id>.meta.json is a few hundred bytes; a larger one is not read


def _is_message(rec: Any) -> bool:
    kind = rec.get("type") if isinstance(rec, dict) else None
    return isinstance(kind, str) and kind in MESSAGE_TYPES and isinstance(rec.get("message"), dict)


def _is_record(rec: dict[str, Any]) -> bool:
    """A line of Claude Code's own shape that is not a message: a record of the session's chain (2.1
    opens a session with hook `progress` records) or a file-history snapshot."""
    if rec.get("type") == "file-history-snapshot":
        return "trackedFileBackups" in as_dict(rec.get("snapshot"))
    return isinstance(rec.get("type"), str) and isinstance(rec.get("sessionId"), str) and "uuid" in rec \
        and "parentUuid" in rec and ("isSidechain" in rec or "userType" in rec)


def _detect(docs: list[Any]) -> bool:
    lines = [d for d in docs if isinstance(d, dict)]
    if len(docs) == 1 and lines and isinstance(lines[0].get("loglines"), list):
        return any(_is_message(r) for r in lines[0]["loglines"][:20])
    # a message, or (a session that opens with hooks and snapshots) records of its chain
    return len(lines) == len(docs) and any(_is_message(d) and "sessionId" in d for d in lines) or (
        len(lines) == len(docs) and all(_is_record(d) or _is_message(d) for d in lines)
        and any(isinstance(d.get("sessionId"), str) for d in lines))


def records(docs: Documents, wrapper: dict[str, Any]) -> Iterator[Any]:
    """Every record: the lines, or the items of a `{"loglines": [...]}` document (whose other fields
    go to `wrapper`)."""
    for doc in docs.iterate():
        if isinstance(doc, dict) and isinstance(doc.get("loglines"), list):
            wrapper.update({k: v for k, v in doc.items() if k != "loglines"})
            yield from doc["loglines"]
        else:
            yield doc


class Session(SessionLog):
    def __init__(self, session: str, source: str) -> None:
        super().__init__(Trace(trace_id=session, format="claude-code", source=source, name=f"claude code session {session}"),
                         Span(span_id="session", trace_id=session, kind="agent", name="claude code session", status="ok"))
        self.pending_uuids: list[str] = []  # the records `pending` came from (kept on the turn that reads them)
        self.last: Span | None = None  # the llm span of the message being continued (same message id)
        self.last_message_id = ""
        self.sidechains: dict[str, Span] = {}  # first uuid of a sidechain -> its agent span
        self.owner: dict[str, Span] = {}  # record uuid -> the agent span it belongs to
        self.seen: set[str] = set()  # uuids of the records read so far
        self.dangling = 0  # records whose parentUuid is not among them
        self.matched: Any = None  # the record's toolUseResult, once a tool span took it
        self.by_agent: dict[str, Span] = {}  # a subagent's agentId -> its sidechain span
        self.task_of: dict[str, Span] = {}  # a subagent's agentId -> the tool span (Task) whose result names it
        self.file_agent = ""  # while a subagent's own file is read: its agentId (from the file name)
        self.progress: dict[str, list[dict[str, Any]]] = {}  # agentId -> its messages as progress records copy them
        self.progress_call: dict[str, str] = {}  # agentId -> the Task call its progress records name
        self.progress_prompt: dict[str, Any] = {}  # agentId -> the prompt its progress records repeat

    def agent_for(self, rec: dict[str, Any], n: int) -> Span:
        parent_uuid = str(rec.get("parentUuid") or "")
        agent_id = self.file_agent or as_text(rec.get("agentId") or "")
        if not rec.get("isSidechain") and not self.file_agent:
            owner = self.root
        elif parent_uuid in self.owner and self.owner[parent_uuid] is not self.root:
            owner = self.owner[parent_uuid]
        elif agent_id in self.by_agent:  # the same subagent, its chain broken by lines the file lacks
            owner = self.by_agent[agent_id]
        elif agent_id and parent_uuid and not self.file_agent and len(unnamed := self.unnamed_sidechains()) == 1:
            # 2.0.x names the agentId on only some of a subagent's records: a named one whose chain the file
            # breaks continues the one sidechain no agentId has claimed (with several, which one is a guess)
            owner = unnamed[0]
        else:
            prefix = f"subagent-{self.file_agent}-" if self.file_agent else "sidechain-"
            owner = self.child(self.root, f"{prefix}{n:05d}", kind="agent", name="subagent (sidechain)",
                               status="ok", start_ns=to_ns(rec.get("timestamp")))
            self.sidechains[str(rec.get("uuid") or n)] = owner
        if agent_id and owner is not self.root and agent_id not in self.by_agent:
            self.by_agent[agent_id] = owner
            self.attach(agent_id)
        self.owner[str(rec.get("uuid") or n)] = owner
        owner.end_ns = to_ns(rec.get("timestamp")) or owner.end_ns
        return owner

    def unnamed_sidechains(self) -> list[Span]:
        """The sidechains none of whose records named an agentId so far."""
        named = {id(span) for span in self.by_agent.values()}
        return [span for span in self.sidechains.values() if id(span) not in named]

    def attach(self, agent_id: str) -> None:
        """A subagent's sidechain goes under the Task call that ran it, once both are read (its records
        and the call's result both name its `agentId`)."""
        if agent_id in self.by_agent and agent_id in self.task_of:
            self.by_agent[agent_id].parent_id = self.task_of[agent_id].span_id

    def add(self, n: int, rec: dict[str, Any]) -> None:
        self.check_parent(rec)
        now = to_ns(rec.get("timestamp"))
        self.widen(now)
        kind = rec.get("type") if isinstance(rec.get("type"), str) else ""
        if kind == "summary":
            self.trace.metadata.setdefault("summaries", []).append(as_text(rec.get("summary")))
            self.trace.name = as_text(rec.get("summary")) or self.trace.name
            return
        if kind == "progress" and self.on_progress(rec, now):
            return
        if kind == "user" and isinstance(rec.get("message"), dict):
            self.on_user(n, rec, now)
        elif kind == "assistant" and isinstance(rec.get("message"), dict):
            self.on_assistant(n, rec, now)
        else:
            self.trace.keep_unread(self.root, str(kind or "record"), rec, now)
            return
        self.keep_rest(rec)

    def on_progress(self, rec: dict[str, Any], now: int | None) -> bool:
        """2.1 copies each message of a running subagent into the session as an `agent_progress` record
        (`data.message`, `data.agentId`, the Task call as `parentToolUseID`): gathered, to be read as the
        subagent's when its own file is not there. The rest of the record is kept verbatim (the prompt,
        which each copy repeats, once)."""
        data = as_dict(rec.get("data"))
        agent_id, message = as_text(data.get("agentId") or ""), data.get("message")
        if data.get("type") != "agent_progress" or not isinstance(message, dict) or not AGENT_ID.fullmatch(agent_id):
            return False
        self.progress.setdefault(agent_id, []).append(message)
        self.progress_call.setdefault(agent_id, as_text(rec.get("parentToolUseID") or ""))
        rest = {k: v for k, v in data.items() if k != "message"}
        if "prompt" in rest and self.progress_prompt.setdefault(agent_id, rest["prompt"]) == rest["prompt"] \
                and len(self.progress[agent_id]) > 1:
            del rest["prompt"]
        self.trace.keep_unread(self.root, "progress", {**rec, "data": rest}, now)
        return True

    def replay_progress(self, start: int) -> int:
        """Each subagent known only from its progress records, read from them as from its own file, under
        its Task call; a subagent whose own file was read keeps its copies verbatim. The next free number."""
        for agent_id, messages in self.progress.items():
            if agent_id in self.by_agent:
                for message in messages:
                    self.trace.keep_unread(self.root, "agent_progress message", message, to_ns(message.get("timestamp")))
                continue
            start = self.read_agent(agent_id, messages, start)
            span = self.by_agent.get(agent_id)
            if span is not None:
                span.attributes.update({"agent_id": agent_id, "read_from": "the session's agent_progress records"})
            tool = self.tools.get(self.progress_call.get(agent_id, ""))
            if tool is not None and agent_id not in self.task_of:
                self.task_of[agent_id] = tool
                self.attach(agent_id)
        return start

    def check_parent(self, rec: dict[str, Any]) -> None:
        """A record that follows one the file does not hold means lines are missing before it, or the
        session was resumed from another file: said on the session (the first few), not guessed at."""
        uuid, parent = as_text(rec.get("uuid") or ""), as_text(rec.get("parentUuid") or "")
        if parent and parent not in self.seen:
            self.dangling += 1
            if self.dangling <= MAX_DANGLING:
                self.root.warnings.append(f"record {uuid or '?'} follows {parent}, which is not earlier in this "
                                          "file (lines missing, or the session was resumed from another file)")
        if uuid:
            self.seen.add(uuid)

    def keep_rest(self, rec: dict[str, Any]) -> None:
        """Fields no rule reads: the session's own (cwd, version, ...) once on the root, any change of them
        and anything else kept verbatim, so nothing is dropped silently."""
        session = self.root.attributes.setdefault("session", {})
        rest: dict[str, Any] = {}
        for key, value in rec.items():
            if key in CONSUMED:
                continue
            if key not in session:
                session[key] = value
            elif session[key] != value:
                rest[key] = value
        message = rec.get("message")
        odd = {k: v for k, v in message.items() if k not in MESSAGE_FIELDS} if isinstance(message, dict) else {}
        if odd:
            rest["message"] = odd
        if rec.get("toolUseResult") is not None and rec.get("toolUseResult") is not self.matched:
            rest["toolUseResult"] = rec["toolUseResult"]
        if rest:
            rest["uuid"] = rec.get("uuid")
            self.trace.keep_unread(self.root, f"{rec.get('type')} fields", rest, to_ns(rec.get("timestamp")))
        self.matched = None

    def on_user(self, n: int, rec: dict[str, Any], now: int | None) -> None:
        self.agent_for(rec, n)  # records which agent (main or sidechain) this record belongs to
        if rec.get("uuid"):
            self.pending_uuids.append(as_text(rec["uuid"]))
        content = as_dict(rec.get("message")).get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": as_text(content)}]
        for block in blocks:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                self.on_tool_result(block, rec, now)
            elif isinstance(block, dict) and block.get("type") == "text":
                self.pending.append(Message(role="user", content=as_text(block.get("text")), time_ns=now))
            elif block is not None and block != {"type": "text", "text": ""}:
                self.pending.append(Message(role="user", content=as_text(block), time_ns=now))
        self.last, self.last_message_id = None, ""

    def on_tool_result(self, block: dict[str, Any], rec: dict[str, Any], now: int | None) -> None:
        text = _block_text(block.get("content"))
        span = self.tool_result(str(block.get("tool_use_id") or ""), text, now)
        if span is None:
            return
        if rec.get("toolUseResult") is not None:
            span.attributes["toolUseResult"] = self.matched = rec["toolUseResult"]
        result = rec.get("toolUseResult")
        agent_id = as_text(result.get("agentId") or "") if isinstance(result, dict) else ""
        if not agent_id and not rec.get("isSidechain") and not self.file_agent:
            agent_id = as_text(rec.get("agentId") or "")  # 2.0.x: on the record of the Task's result
        if agent_id:  # the Task call that ran subagent `agentId`
            self.task_of.setdefault(agent_id, span)
            self.attach(agent_id)
        if block.get("is_error"):
            span.status, span.status_message = "error", _first_line(text) or "tool returned an error"

    def read_subagent(self, agent_id: str, path: Path, start: int) -> int:
        """The records of subagent `agent_id`'s own file, numbered from `start`; the next free number. Its
        conversation is its own: the session's gathered input is put aside while it is read."""
        try:
            docs = load_documents(path)
        except (OSError, FatalError) as err:
            self.trace.problems.append(f"{path.name}: subagent transcript not read: {err}")
            return start
        if docs is None:
            self.trace.problems.append(f"{path.name}: subagent transcript is not JSON Lines: not read")
            return start
        start = self.read_agent(agent_id, records(docs, {}), start)
        self.trace.problems += [f"{path.name}: {p}" for p in docs.problems]
        span = self.by_agent.get(agent_id)
        if span is not None:
            self.describe(span, agent_id, path)
        return start

    def read_agent(self, agent_id: str, recs: Iterable[Any], start: int) -> int:
        """Subagent `agent_id`'s records, numbered from `start`; the next free number. Its conversation
        is its own: the session's gathered input is put aside while they are read."""
        saved = self.pending, self.pending_uuids, self.last, self.last_message_id
        self.pending, self.pending_uuids, self.last, self.last_message_id = [], [], None, ""
        self.file_agent = agent_id
        n = start
        try:
            for n, rec in enumerate(recs, start):
                self.add(n, rec if isinstance(rec, dict) else {"type": "not-an-object", "value": rec})
        finally:
            self.file_agent = ""
        span = self.by_agent.get(agent_id)
        if span is not None and self.pending:  # the subagent's last input, which no turn of it answered
            end = self.child(span, f"unanswered-{agent_id}", kind="chain", name="input after the last model turn",
                             status="ok", start_ns=span.end_ns, end_ns=span.end_ns)
            end.input_messages = self.pending
            if self.pending_uuids:
                end.attributes["input_uuids"] = self.pending_uuids
        self.pending, self.pending_uuids, self.last, self.last_message_id = saved
        return n + 1

    def describe(self, span: Span, agent_id: str, path: Path) -> None:
        """The subagent's id and file on its span, and what its `.meta.json` says (type, description, the
        Task call's `toolUseId`, which places it when the call's result does not name it)."""
        span.attributes.update({"agent_id": agent_id, "file": path.name})
        meta_path = path.with_name(f"agent-{agent_id}.meta.json")
        meta = _small_json(meta_path)
        if meta is None:
            return
        span.attributes["meta"] = meta
        span.name = f"subagent {as_text(meta.get('agentType') or '')}".strip() if meta.get("agentType") else span.name
        tool = self.tools.get(as_text(meta.get("toolUseId") or ""))
        if tool is not None and agent_id not in self.task_of:
            self.task_of[agent_id] = tool
            self.attach(agent_id)

    def on_assistant(self, n: int, rec: dict[str, Any], now: int | None) -> None:
        agent = self.agent_for(rec, n)
        msg = as_dict(rec.get("message"))
        message_id = str(msg.get("id") or rec.get("requestId") or "")
        span = self.last if message_id and message_id == self.last_message_id else None
        if span is None:
            span = self.child(agent, f"turn-{n:05d}", kind="llm", name=f"{msg.get('model') or 'model'} turn",
                              start_ns=now, end_ns=now, status="ok", model=str(msg.get("model") or ""))
            span.input_messages, self.pending = self.pending, []
            if self.pending_uuids:
                span.attributes["input_uuids"], self.pending_uuids = self.pending_uuids, []
            if msg.get("id"):
                span.attributes["message_id"] = msg["id"]
            span.output_messages.append(Message(role="assistant", time_ns=now))
            self.root.model = self.root.model or span.model
            if rec.get("requestId"):
                span.attributes["request_id"] = rec["requestId"]
        elif rec.get("timestamp"):  # a later line of the same message: when it was written (its blocks' time)
            span.attributes.setdefault("continued_at", []).append(rec["timestamp"])
        self.last, self.last_message_id = span, message_id
        if rec.get("uuid"):  # one per line: a message split over lines has several
            span.attributes.setdefault("uuids", []).append(rec["uuid"])
        span.end_ns = now or span.end_ns
        reply = span.output_messages[-1]
        for block in as_list(msg.get("content")) if isinstance(msg.get("content"), list) else [msg.get("content")]:
            self.on_block(span, reply, block, now)
        reply.finish_reason = str(msg.get("stop_reason") or reply.finish_reason or "")
        usage = as_dict(msg.get("usage"))
        if usage:  # repeated on each line of one message: the last one holds the final count
            span.input_tokens = sum(as_int(usage.get(k)) or 0 for k in (
                "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
            span.output_tokens = as_int(usage.get("output_tokens"))
            span.attributes["usage"] = usage
        if as_float(rec.get("costUSD")) is not None:
            span.cost_usd = as_float(rec.get("costUSD"))
        elif usage:
            span.cost_usd = _priced(span.model, usage)
        if rec.get("isApiErrorMessage"):
            span.status, span.status_message = "error", _first_line(reply.content) or "API error"

    def on_block(self, span: Span, reply: Message, block: Any, now: int | None) -> None:
        if not isinstance(block, dict):
            reply.content = "\n".join(x for x in (reply.content, as_text(block)) if x)
            return
        kind = block.get("type")
        if kind == "text":
            reply.content = "\n".join(x for x in (reply.content, as_text(block.get("text"))) if x)
        elif kind in ("thinking", "redacted_thinking"):
            reply.reasoning += as_text(block.get("thinking") or block.get("data"))
            if block.get("signature"):  # opaque, but the transcript's: kept beside the reasoning
                span.attributes.setdefault("thinking_signatures", []).append(block["signature"])
        elif kind == "tool_use":
            self.tool_call(span, reply, ToolCall(name=str(block.get("name") or ""), arguments=as_text(block.get("input")),
                                                 id=str(block.get("id") or "")), now)
        else:
            reply.content = "\n".join(x for x in (reply.content, as_text(block)) if x)


def _priced(model: str, usage: dict[str, Any]) -> float | None:
    """What the turn cost at agentbook's price table (transcripts stopped recording `costUSD`); None
    for a model the table does not know, rather than a guess."""
    from agentbook.errors import FatalError
    from agentbook.models.base import Usage
    from agentbook.models.pricing import cost_usd

    counts = {k: as_int(usage.get(k)) or 0 for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                                                     "cache_read_input_tokens")}
    split = as_dict(usage.get("cache_creation"))
    try:
        cost, estimated = cost_usd(model, Usage(**counts, cache_creation_5m=as_int(split.get("ephemeral_5m_input_tokens"))
                                                or 0, cache_creation_1h=as_int(split.get("ephemeral_1h_input_tokens")) or 0))
    except FatalError:  # an unreadable price file (AGENTBOOK_PRICES): no cost, the trace still reads
        return None
    return None if estimated else round(cost, 8)


def _block_text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(as_text(b.get("text")) if isinstance(b, dict) and b.get("type") == "text" else as_text(b)
                         for b in content)
    return as_text(content)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def _small_json(path: Path) -> dict[str, Any] | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_META_BYTES:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def subagent_files(source: Path, named: Iterable[str] = ()) -> list[tuple[str, Path]]:
    """(agentId, file) of each subagent transcript Claude Code keeps beside the session file `source`:
    `<session>/subagents/agent-<id>.jsonl` (2.1), `<session>/agent-<id>.jsonl`, and, for the ids in
    `named` (those the session's Task results name), `agent-<id>.jsonl` in the session's folder (older
    versions). Links are not followed: a file reached through one may be anything on the machine."""
    found: dict[str, Path] = {}
    folder = source.with_suffix("") if source.suffix == ".jsonl" else None
    # neither the session's folder nor its `subagents` may be a link: `s -> ~/.claude/projects/<the user's>`
    # beside a stranger's `s.jsonl` exported the user's own subagent transcripts
    places = [folder / "subagents", folder] if folder is not None and not folder.is_symlink() else []
    candidates = [p for place in places if place.is_dir() and not place.is_symlink()
                  for p in sorted(place.glob("agent-*.jsonl"))]
    candidates += [source.parent / f"agent-{n}.jsonl" for n in named if AGENT_ID.fullmatch(n)]
    for path in candidates:
        agent_id = path.name[len("agent-"):-len(".jsonl")]
        if AGENT_ID.fullmatch(agent_id) and agent_id not in found and path.is_file() and not path.is_symlink():
            found[agent_id] = path
    return sorted(found.items())


def named_agents(docs: Iterable[Any]) -> list[str]:
    """The agentIds a session's records name (on a Task result's record or its `toolUseResult`)."""
    names: dict[str, None] = {}
    for rec in docs:
        if isinstance(rec, dict):
            result = rec.get("toolUseResult")
            for value in (rec.get("agentId"), result.get("agentId") if isinstance(result, dict) else None):
                if isinstance(value, str) and value:
                    names[value] = None
    return list(names)


def _read(docs: Documents, source: str) -> list[Trace]:
    wrapper: dict[str, Any] = {}
    traces = read_sessions(records(docs, wrapper), source, Session, subagents=Path(source))
    if wrapper and traces:
        traces[0].metadata["file"] = wrapper
    return traces


def read_sessions(recs: Iterable[Any], source: str, session_type: type[Session], key_field: str = "sessionId",
                  subagents: Path | None = None) -> list[Trace]:
    sessions: dict[str, Session] = {}
    loose: list[tuple[int, dict[str, Any]]] = []  # records without a session id (summaries, snapshots)
    n = -1
    for n, rec in enumerate(recs):
        if not isinstance(rec, dict):
            rec = {"type": "not-an-object", "value": rec}
        key = str(rec.get(key_field) or "")
        if not key:
            loose.append((n, rec))
            continue
        if key not in sessions:
            sessions[key] = session_type(key, source)
        sessions[key].add(n, rec)
    free = n + 1  # the next record number (span ids carry it: the loose records below reuse theirs)
    for n, rec in loose:  # a summary names its session by the last message it covers (`leafUuid`)
        leaf = str(rec.get("leafUuid") or "")
        owner = next((s for s in sessions.values() if leaf in s.owner), None) or next(iter(sessions.values()), None)
        if owner is None:
            owner = sessions[""] = session_type("session", source)
        owner.add(n, rec)
    if subagents is not None and sessions:
        free = _read_subagents(subagents, sessions, free)
    for session in sessions.values():
        free = session.replay_progress(free)
    for session in sessions.values():
        _finish(session)
    return [s.trace for s in sessions.values()]


def _read_subagents(source: Path, sessions: dict[str, Session], start: int) -> int:
    """Each subagent file beside `source`, read into the session its Task call is in (the first session
    when none names it); the next free record number."""
    named = {agent: s for s in sessions.values() for agent in s.task_of}
    first = next(iter(sessions.values()))
    for agent_id, path in subagent_files(source, named):
        start = named.get(agent_id, first).read_subagent(agent_id, path, start)
    return start


def _finish(session: Session) -> None:
    span = session.keep_unanswered()  # the conversation ended with input no model turn answered
    if span is not None and session.pending_uuids:
        span.attributes["input_uuids"] = session.pending_uuids
    session.total_tokens()


READER = Reader(name="claude-code", priority=20, detect=_detect, read=_read,
                expects="Claude Code transcript (JSON Lines with `type`, `sessionId`, `uuid`, `message`)")
