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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentbook.errors import FatalError, invalid_yaml

FRONT_KEYS = {"id", "title", "runbook", "inputs", "co-authored-by", "labels"}
RUNBOOK_LABEL = "agentbook:"
_FENCE = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)


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

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "body": self.body, "runbook": self.runbook,
                "inputs": self.inputs, "co_authors": self.co_authors, "labels": self.labels,
                "source": self.source}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ticket:
        return cls(str(data["id"]), data.get("title", ""), data.get("body", ""), data.get("runbook"),
                   dict(data.get("inputs") or {}), list(data.get("co_authors") or []),
                   list(data.get("labels") or []), data.get("source", "-"))


def empty_ticket(run_id: str) -> Ticket:
    """The ticket of a run started with `--input` only: its id is the run id."""
    return Ticket(id=run_id, title="", body="", source="none")


def read_ticket(path: str, stdin_text: str | None = None) -> Ticket:
    """Read a ticket from a file, or from `stdin_text` when `path` is '-'."""
    if path == "-":
        return parse_ticket(stdin_text or "", "<stdin>")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FatalError(f"ticket file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise FatalError(f"cannot read ticket {path}: {err}") from None
    return parse_ticket(text, path, stem=p.stem)


def parse_ticket(text: str, source: str, stem: str | None = None) -> Ticket:
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    if not text.strip():
        raise FatalError("the ticket is empty", location=f"{source}:1:1")
    if text.lstrip().startswith("{"):
        return _from_github_json(text, source)
    if _FENCE.match(text):
        return _from_markdown(text, source, stem)
    return _from_plain(text, source, stem)


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
    ticket = _from_front(front, body, source, default_id=stem)
    ticket.inputs_line = _input_lines(m.group("yaml") or "", offset=2)
    return ticket


def _load_front(yaml_text: str, source: str, line_offset: int = 1) -> dict[str, Any]:
    try:
        data = yaml.safe_load(yaml_text) if yaml_text.strip() else {}
    except yaml.YAMLError as err:
        raise invalid_yaml(err, source, what="ticket front-matter", line_offset=line_offset) from None
    if not isinstance(data, dict):
        raise FatalError("ticket front-matter must be a mapping", location=f"{source}:2:1")
    unknown = sorted(set(map(str, data)) - FRONT_KEYS)
    if unknown:
        raise FatalError(f"unknown ticket key '{unknown[0]}'", location=f"{source}:{_key_line(yaml_text, unknown[0])}:1",
                         hint=f"ticket keys are: {', '.join(sorted(FRONT_KEYS))}")
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


def _from_front(front: dict[str, Any], body: str, source: str, default_id: str | None) -> Ticket:
    inputs = front.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise FatalError("ticket 'inputs' must be a mapping of name: value", location=source)
    runbook = front.get("runbook")
    if runbook is not None and not isinstance(runbook, str):
        raise FatalError("ticket 'runbook' must be a runbook name", location=source)
    raw_id = front.get("id", default_id)
    ident = str(raw_id) if raw_id is not None else "t-" + hashlib.sha1(body.encode("utf-8")).hexdigest()[:8]
    co = front.get("co-authored-by") or []
    co_authors = [co] if isinstance(co, str) else [str(c) for c in co]
    for c in co_authors:
        if not re.fullmatch(r"[^<>\n]+ <[^<>\s]+@[^<>\s]+>", c):
            raise FatalError(f"co-authored-by '{c}' is not 'Name <email>'", location=source)
    labels = front.get("labels") or []
    return Ticket(id=ident, title=str(front.get("title") or _title_of(body)), body=body, runbook=runbook,
                  inputs={str(k): v for k, v in inputs.items()}, co_authors=co_authors,
                  labels=[str(x) for x in labels], source=source)


def _from_github_json(text: str, source: str) -> Ticket:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise FatalError(f"invalid JSON ticket: {err.msg}", location=f"{source}:{err.lineno}:{err.colno}") from None
    if not isinstance(data, dict) or "number" not in data:
        raise FatalError("a JSON ticket must be a GitHub issue with at least 'number' and 'title'",
                         location=source, hint="gh issue view N --json number,title,body,labels > T.json")
    body = str(data.get("body") or "")
    front: dict[str, Any] = {}
    m = _FENCE.match(body.replace("\r\n", "\n"))
    if m:
        front = _load_front(m.group("yaml") or "", f"{source} (issue body)")
        body = body.replace("\r\n", "\n")[m.end():]
    labels = [str(lb.get("name") if isinstance(lb, dict) else lb) for lb in data.get("labels") or []]
    named = [lb[len(RUNBOOK_LABEL):] for lb in labels if lb.startswith(RUNBOOK_LABEL)]
    front.setdefault("runbook", named[0] if named else None)
    front["id"] = str(data["number"])
    front.setdefault("title", str(data.get("title") or ""))
    ticket = _from_front(front, body.strip(), source, default_id=None)
    ticket.labels = labels
    return ticket
