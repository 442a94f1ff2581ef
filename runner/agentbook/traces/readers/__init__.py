"""The trace reader registry: one `Reader` per format, found through the `agentbook.trace_readers`
entry point group.

Built-in readers are declared in that group by agentbook's own `pyproject.toml`, exactly as a plugin
package declares its own (`[project.entry-points."agentbook.trace_readers"] name = "pkg.mod:READER"`);
`BUILTIN` repeats agentbook's entries so a source checkout without installed metadata still reads
everything. Adding a format touches one place: a module with a `Reader` and its entry point.

Detection asks each reader, lowest `priority` first, whether the first few documents of the file are
its format; the first yes wins. A file nobody claims is refused with what it looked like and what
each reader expects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError

from ..load import Documents
from ..model import Trace
from ..values import clean_text

GROUP = "agentbook.trace_readers"
BUILTIN = {
    "agentbook": "agentbook.traces.readers.agentbook:READER",
    "claude-code": "agentbook.traces.readers.claude_code:READER",
    "claude-stream": "agentbook.traces.readers.claude_stream:READER",
    "claude-sessions": "agentbook.traces.readers.claude_sessions:READER",
    "codex": "agentbook.traces.readers.codex:READER",
    "gemini-cli": "agentbook.traces.readers.gemini_cli:READER",
    "pi-agent": "agentbook.traces.readers.pi_agent:READER",
    "openai-agents": "agentbook.traces.readers.openai_agents:READER",
    "pydantic-ai": "agentbook.traces.readers.pydantic_ai:READER",
    "langsmith": "agentbook.traces.readers.langsmith:READER",
    "weave": "agentbook.traces.readers.weave:READER",
    "langfuse": "agentbook.traces.readers.langfuse:READER",
    "atif": "agentbook.traces.readers.atif:READER",
    "inspect": "agentbook.traces.readers.inspect_ai:READER",
    "openinference": "agentbook.traces.readers.spans:OPENINFERENCE",
    "otlp": "agentbook.traces.readers.spans:OTLP",
}


@dataclass(frozen=True)
class Reader:
    """One trace format: how to recognise it and how to read it into `Trace`s."""

    name: str  # the --format value
    expects: str  # the shape it reads, in a few words (shown when a file is refused)
    detect: Callable[[list[Any]], bool]  # the first few documents of the file -> is this my format?
    read: Callable[[Documents, str], list[Trace]]  # every document, the source path -> traces
    priority: int = 100  # lower is asked first; built-ins use 10-90 so plugins come after them
    serves: tuple[str, ...] = ()  # other format names this reader also answers for (--format)
    stream: Callable[[Path], list[Trace]] | None = None  # for a large single document (not loaded whole)


@dataclass(frozen=True)
class Registry:
    readers: tuple[Reader, ...]
    problems: tuple[str, ...]  # plugins that could not be loaded, one line each

    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.readers)

    def get(self, name: str) -> Reader | None:
        return next((r for r in self.readers if r.name == name), None)

    def detect(self, head: list[Any]) -> Reader | None:
        for reader in self.readers:
            try:
                if reader.detect(head):
                    return reader
            except Exception:
                if reader.name in BUILTIN:
                    raise
                continue
        return None

    def expectations(self) -> str:
        return "; ".join(f"{r.name}: {r.expects}" for r in self.readers)


def _load(name: str, value: str) -> Reader:
    loaded = EntryPoint(name=name, value=value, group=GROUP).load()
    if not isinstance(loaded, Reader):
        raise TypeError(f"{value} is a {type(loaded).__name__}, not an agentbook.traces.readers.Reader")
    if loaded.name != name:
        raise TypeError(f"{value} is registered as {name!r} but names itself {loaded.name!r}")
    return loaded


@functools.cache
def registry() -> Registry:
    """Every reader: the built-ins, then each installed plugin (a broken plugin is skipped and noted)."""
    specs = dict(BUILTIN)
    problems: list[str] = []
    for ep in entry_points(group=GROUP):
        if ep.name in BUILTIN and ep.value != BUILTIN[ep.name]:
            problems.append(f"trace reader plugin {ep.name!r} ({ep.value}) would replace a built-in: ignored")
        elif ep.name not in BUILTIN:
            specs[ep.name] = ep.value
    readers = []
    for name, value in specs.items():
        try:
            readers.append(_load(name, value))
        except Exception as err:
            if name in BUILTIN:
                raise
            problems.append(f"trace reader plugin {name!r} ({value}) failed to load: {type(err).__name__}: {err}")
    readers.sort(key=lambda r: (r.priority, r.name))
    return Registry(tuple(readers), tuple(problems))


def _short(key: Any) -> str:
    """A key as a refusal shows it: control characters out, at most 40 characters (keys are the
    attacker's, and an error message must stay readable and bounded)."""
    text = clean_text(str(key)).replace("\n", " ")
    return text if len(text) <= 40 else text[:39] + "…"


def describe(doc: Any) -> str:
    """What a document looked like, for a refusal."""
    if isinstance(doc, dict):
        keys = ", ".join(_short(k) for k in list(doc)[:8])
        return f"a JSON object with keys: {keys}" if keys else "an empty JSON object"
    if isinstance(doc, list):
        first = f" (the first {describe(doc[0]).removeprefix('a ')})" if doc else ""
        return f"a JSON array of {len(doc)} items{first}"
    return f"a JSON {type(doc).__name__}"


def choose(head: list[Any], path: Path, format: str) -> Reader:
    """The reader for a file whose first documents are `head` (auto: detected; else checked)."""
    reg = registry()
    found = reg.detect(head)
    if found is None:
        raise FatalError(f"{path}: unknown trace format ({describe(head[0])})",
                         hint="expected one of: " + reg.expectations())
    if format not in ("auto", found.name) and format not in found.serves:
        raise FatalError(f"{path}: this is not {format} (it looks like {found.name})",
                         hint="leave --format at auto, or pass the format the file is in")
    return found


def check_format(format: str) -> None:
    names = registry().names()
    if format != "auto" and format not in names:
        raise FatalError(f"unknown trace format {format!r}", hint="use one of: auto, " + ", ".join(names))
