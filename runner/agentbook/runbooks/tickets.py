"""Tickets: what a run is asked to do, from a Markdown file, plain text, or a GitHub issue.

Three shapes, told apart by their first bytes:
- Markdown with front-matter (`id`, `title`, `runbook`, `inputs`, `co-authored-by`), body = request;
- JSON as `gh issue view --json number,title,body,labels` prints it (a label `agentbook:NAME` names
  the runbook; a front-matter block at the top of the issue body supplies inputs);
- anything else is plain text: the first line is the title, the id is a hash of the text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.fsutil import read_untrusted

# `cohort`: the backtest cohort a fix ticket targets (backtest/fixes.py); the runner ignores it and the
# agent never sees it; what checks the fix against a re-run reads it
FRONT_KEYS = {"id", "title", "runbook", "inputs", "co-authored-by", "labels", "agent", "cohort"}
RUNBOOK_LABEL = "agentbook:"
MAX_TICKET_BYTES = 256 << 10  # a ticket is a request (GitHub caps an issue body at 65,536 characters)
MAX_ALIAS_VALUES = 10_000  # as for runbook front-matter
_FENCE = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)
_OPEN_FENCE = re.compile(r"\A---[ \t]*(?:\n|\Z)")


@dataclass
class Ticket:
    id: str
    title: str
    body: str
    runbook: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    co_authors: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    source: str = "-"
    inputs_line: dict[str, int] = field(default_factory=dict)  # input name -> line in the source
    agent: str | None = None  # a registered agent's name (runbooks/engines.py)
    # a GitHub issue's JSON: its number and the sha256 of its title and body as given, for publish to check
    # against the API before it links the pull request to the issue (a ticket file can claim any number)
    issue: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "body": self.body, "runbook": self.runbook,
                "inputs": self.inputs, "co_authors": self.co_authors, "labels": self.labels,
                "source": self.source, "agent": self.agent, "issue": self.issue}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ticket:
        return cls(str(data["id"]), data.get("title", ""), data.get("body", ""), data.get("runbook"),
                   dict(data.get("inputs") or {}), list(data.get("co_authors") or []),
                   list(data.get("labels") or []), data.get("source", "-"), agent=data.get("agent"),
                   issue=data.get("issue") if isinstance(data.get("issue"), dict) else None)


def empty_ticket(run_id: str) -> Ticket:
    """The ticket of a run started with `--input` only: its id is the run id."""
    return Ticket(id=run_id, title="", body="", source="none")


def read_ticket(path: str, stdin_text: str | None = None) -> Ticket:
    """Read a ticket from a file, or from `stdin_text` when `path` is '-'."""
    if path == "-":
        return parse_ticket(stdin_text or "", "<stdin>")
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        where = None if p.is_absolute() else f"a relative path is read from the current folder, {Path.cwd()}"
        raise FatalError(f"ticket file not found: {path}", hint=where)
    # one descriptor, never a link nor a fifo: `agentbook watch` checks a dropped file is regular, and one
    # swapped for `-> /proc/self/environ` after that check put the runner's keys in the prompt
    raw = read_untrusted(p, limit=MAX_TICKET_BYTES, what="ticket", too_big=lambda _: _too_big(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise FatalError(f"ticket is not valid UTF-8 (byte 0x{raw[err.start]:02x})", location=f"{path}:{line}",
                         hint="save the ticket as UTF-8") from None
    return parse_ticket(text, path, stem=p.stem)


def ticket_front(path: str) -> dict[str, Any]:
    """The front-matter of a Markdown ticket file as a mapping ({} when it has none), for the keys the
    runner itself ignores (`cohort`). Call `read_ticket` first: it reports a bad file."""
    raw = read_untrusted(path, limit=MAX_TICKET_BYTES, what="ticket")
    text = raw.decode("utf-8", "replace").lstrip("\ufeff").replace("\r\n", "\n")
    m = _FENCE.match(text)
    return _load_front(m.group("yaml") or "", path) if m else {}


def parse_ticket(text: str, source: str, stem: str | None = None) -> Ticket:
    _check_size(len(text.encode("utf-8", "surrogatepass")), source)
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise FatalError("ticket contains a NUL byte", location=f"{source}:{line}", hint="a ticket is text")
    if not text.strip():
        raise FatalError("the ticket is empty", location=f"{source}:1:1")
    if text.lstrip().startswith("{"):
        return _from_github_json(text, source)
    if _FENCE.match(text):
        return _from_markdown(text, source, stem)
    if _OPEN_FENCE.match(text):
        raise FatalError("ticket front-matter is not closed", location=f"{source}:1:1",
                         hint="add a line '---' after the last front-matter key")
    return _from_plain(text, source, stem)


def _check_size(size: int, source: str) -> None:
    if size > MAX_TICKET_BYTES:
        raise _too_big(source)


def _too_big(source: str) -> FatalError:
    return FatalError(f"ticket is larger than the limit of {MAX_TICKET_BYTES:,} bytes", location=source,
                      hint="put large data in the repository and name its path in the ticket")


def _from_plain(text: str, source: str, stem: str | None) -> Ticket:
    body = text.strip()
    title = _title_of(body)
    ident = stem or "t-" + hashlib.sha1(body.encode("utf-8")).hexdigest()[:8]
    return Ticket(id=ident, title=title, body=body, source=source)


def _title_of(body: str) -> str:
    first = next((ln for ln in body.splitlines() if ln.strip()), "")
    return first.lstrip("# ").strip()[:120]


def _from_markdown(text: str, source: str, stem: str | None) -> Ticket:
    m = _FENCE.match(text)
    assert m is not None
    front = _load_front(m.group("yaml") or "", source)
    body = text[m.end():].strip()
    ticket = _from_front(front, body, source, default_id=stem, yaml_text=m.group("yaml") or "")
    ticket.inputs_line = _input_lines(m.group("yaml") or "", offset=2)
    return ticket


def _load_front(yaml_text: str, source: str, line_offset: int = 1) -> dict[str, Any]:
    data = yamlsafe.load(yaml_text, source, what="ticket front-matter", line_offset=line_offset,
                         limit=MAX_TICKET_BYTES, max_alias_values=MAX_ALIAS_VALUES) if yaml_text.strip() else {}
    if not isinstance(data, dict):
        raise FatalError("ticket front-matter must be a mapping", location=f"{source}:2:1")
    unknown = [key for key in map(str, data) if key not in FRONT_KEYS]  # in the order they are written
    if unknown:
        more = f" (also {', '.join(repr(k) for k in unknown[1:4])}{', ...' if len(unknown) > 4 else ''})" \
            if len(unknown) > 1 else ""
        # a runbook's inputs written at the top (`suite: ...`) is the usual slip: say where they go
        raise FatalError(f"unknown ticket key '{unknown[0]}'{more}",
                         location=f"{source}:{_key_line(yaml_text, unknown[0])}:1",
                         hint=f"ticket keys are: {', '.join(sorted(FRONT_KEYS))}; a runbook's inputs go under "
                              f"`inputs:` (`inputs: {{{unknown[0]}: ...}}` if it is one)")
    return data


def _key_line(yaml_text: str, key: str) -> int:
    for i, line in enumerate(yaml_text.splitlines()):
        if line.startswith(f"{key}:"):
            return i + 2
    return 2


def _input_lines(yaml_text: str, offset: int) -> dict[str, int]:
    """Line of each `inputs:` entry, for errors that point at the ticket."""
    out: dict[str, int] = {}
    inside = False
    for i, line in enumerate(yaml_text.splitlines()):
        if line.startswith("inputs:"):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+([A-Za-z0-9_-]+)\s*:", line)
            if m:
                out[m.group(1)] = i + offset
            elif line.strip() and not line[0].isspace():
                inside = False
    return out


def _from_front(front: dict[str, Any], body: str, source: str, default_id: str | None,
                yaml_text: str = "") -> Ticket:
    def where(key: str) -> str:
        return f"{source}:{_key_line(yaml_text, key)}:1" if yaml_text else source

    inputs = front.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise FatalError(f"ticket 'inputs' must be a mapping of name: value, got {_kind(inputs)}",
                         location=where("inputs"))
    runbook = _optional_str(front, "runbook", where)
    agent = _optional_str(front, "agent", where)
    title = _optional_str(front, "title", where)
    raw_id = front.get("id", default_id)
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id)):
        raise FatalError(f"ticket 'id' must be a string or a number, got {_kind(raw_id)}", location=where("id"))
    ident = str(raw_id) if raw_id is not None else "t-" + hashlib.sha1(body.encode("utf-8")).hexdigest()[:8]
    co = front.get("co-authored-by") or []
    co_authors = _str_list(co, "co-authored-by", where("co-authored-by"))
    for c in co_authors:
        if not re.fullmatch(r"[^<>\n]+ <[^<>\s]+@[^<>\s]+>", c):
            raise FatalError(f"co-authored-by '{c}' is not 'Name <email>'", location=where("co-authored-by"))
    labels = _str_list(front.get("labels") or [], "labels", where("labels"))
    return Ticket(id=ident, title=title or _title_of(body), body=body, runbook=runbook,
                  inputs={str(k): v for k, v in inputs.items()}, co_authors=co_authors,
                  labels=labels, source=source, agent=agent)


def _optional_str(front: dict[str, Any], key: str, where: Callable[[str], str]) -> str | None:
    value = front.get(key)
    if value is not None and not isinstance(value, str):
        raise FatalError(f"ticket '{key}' must be a string, got {_kind(value)}", location=where(key))
    return value


def _str_list(value: Any, key: str, location: str) -> list[str]:
    """A list of strings, or one string standing for a list of one (never split into characters)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise FatalError(f"ticket '{key}' must be a list of strings, got {_kind(value)}", location=location)
    return list(items)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        bad = [x for x in value if not isinstance(x, str)]
        return f"a list holding {_kind(bad[0])}" if bad else "a list"
    return {bool: "a boolean", int: "a number", float: "a number", dict: "a mapping", str: "a string",
            type(None): "null"}.get(type(value), type(value).__name__)


def _from_github_json(text: str, source: str) -> Ticket:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise FatalError(f"invalid JSON ticket: {err.msg}", location=f"{source}:{err.lineno}:{err.colno}") from None
    if not isinstance(data, dict) or "number" not in data:
        raise FatalError("a JSON ticket must be a GitHub issue with at least 'number' and 'title'",
                         location=source, hint="gh issue view N --json number,title,body,labels > T.json")
    _check_issue_fields(data, source)
    body = str(data.get("body") or "")
    front: dict[str, Any] = {}
    m = _FENCE.match(body.replace("\r\n", "\n"))
    if m:
        front = _load_front(m.group("yaml") or "", f"{source} (issue body)")
        body = body.replace("\r\n", "\n")[m.end():]
    labels = [lb["name"] if isinstance(lb, dict) else lb for lb in data.get("labels") or []]
    named = [lb[len(RUNBOOK_LABEL):] for lb in labels if lb.startswith(RUNBOOK_LABEL)]
    front.setdefault("runbook", named[0] if named else None)
    front["id"] = str(data["number"])
    front.setdefault("title", str(data.get("title") or ""))
    ticket = _from_front(front, body.strip(), source, default_id=None)
    ticket.labels = labels
    ticket.issue = {"number": int(data["number"]), "title_sha256": text_sha256(data.get("title")),
                    "body_sha256": text_sha256(data.get("body"))}
    return ticket


def _check_issue_fields(data: dict[str, Any], source: str) -> None:
    """The fields `gh issue view --json` prints, each of the type GitHub gives it."""
    number = data["number"]
    if isinstance(number, bool) or not (isinstance(number, int) or isinstance(number, str) and number.isdigit()):
        raise FatalError(f"issue 'number' must be a number, got {_kind(number)}", location=source)
    for key in ("title", "body"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise FatalError(f"issue '{key}' must be a string, got {_kind(data[key])}", location=source)
    labels = data.get("labels")
    if labels is None:
        return
    if not isinstance(labels, list):
        raise FatalError(f"issue 'labels' must be a list, got {_kind(labels)}", location=source)
    for label in labels:
        name = label.get("name") if isinstance(label, dict) else label
        if not isinstance(name, str):
            raise FatalError(f"issue label must be a string or {{\"name\": string}}, got {_kind(label)}",
                             location=source)


def text_sha256(text: Any) -> str:
    """The sha256 of an issue's title or body as GitHub gives it (null as empty)."""
    return hashlib.sha256(str(text or "").encode("utf-8", "surrogatepass")).hexdigest()
