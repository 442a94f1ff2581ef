"""A runbook file: front-matter, then Markdown whose `##` headings are steps and whose ```check
blocks are gates (shell commands the runner runs after the step).

`parse_runbook` is what the runner uses: it raises `FatalError` with file:line:col when the file
cannot be read or its front-matter cannot be parsed. Whether the front-matter is *valid* (schema,
cross-checks) is the validator's job (`agentbook.catalog.validate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from agentbook.catalog.findings import Finding
from agentbook.catalog.frontmatter import FrontMatter, parse_front_matter
from agentbook.catalog.source import SourceText, read_source
from agentbook.errors import FatalError

GATE_INFO = "check"


@dataclass(frozen=True)
class Gate:
    command: str
    line: int  # file line of the opening ```check fence


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, in file order
    title: str
    body: str  # the step's Markdown without its heading
    gates: list[Gate]
    line: int  # file line of the `##` heading


@dataclass
class Runbook:
    name: str
    path: Path
    front: dict[str, Any]
    steps: list[Step]
    body: str  # everything after the front-matter
    blob_sha: str  # git blob id of the file's bytes, for `Agentbook-Runbook: name@sha`
    intro: str = ""  # Markdown before the first step
    source: str = "repo"  # "repo" or "agentbook" (shipped with the package)
    shadows: Path | None = None  # the shipped runbook of the same name this one overrides

    @property
    def description(self) -> str:
        value = self.front.get("description")
        return value if isinstance(value, str) else ""


@dataclass
class RunbookRead:
    """Everything one read of a runbook produced, for the validator and the lenient loader."""

    runbook: Runbook | None
    front_matter: FrontMatter | None
    findings: list[Finding] = field(default_factory=list)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    """Block structure only: headings and fences are all a runbook needs; skipping the inline pass
    halves the parse time (a heading's text is already in its inline token's `content`)."""
    md = MarkdownIt("commonmark")
    md.core.ruler.disable("inline")
    return md


def read_runbook(path: Path, shown: str | None = None) -> RunbookRead:
    source = read_source(path, shown)
    if isinstance(source, Finding):
        return RunbookRead(None, None, [source])
    fm = parse_front_matter(source.text, shown or str(path))
    findings = [*source.findings, *fm.findings]
    if not fm.parsed:
        return RunbookRead(None, fm, findings)
    return RunbookRead(build_runbook(source, fm), fm, findings)


def build_runbook(source: SourceText, fm: FrontMatter) -> Runbook:
    intro, steps = split_steps(fm.body, fm.body_line)
    name = fm.data.get("name")
    return Runbook(name=name if isinstance(name, str) and name else source.path.stem, path=source.path,
                   front=fm.data, steps=steps, body=fm.body, blob_sha=source.blob_sha, intro=intro)


def parse_runbook(path: Path | str) -> Runbook:
    """Read one runbook for execution; unreadable files, broken front-matter and front-matter the JSON
    Schema refuses (`protected: 5`, `bash: {allow: 'x'}`) raise FatalError at file:line:col."""
    # jsonschema is imported only when a runbook runs
    from agentbook.catalog.runbook_rules import requires_findings, schema_findings

    read = read_runbook(Path(path))
    findings = read.findings
    if read.front_matter is not None and read.front_matter.parsed:
        # `requires:` first: a runbook for a newer agentbook may use keys this one does not know
        findings = [*requires_findings(read.front_matter), *findings,
                    *schema_findings(read.front_matter, require=False)]
    errors = [f for f in findings if f.is_error and f.rule not in _COSMETIC]
    if read.runbook is None or errors:
        first = errors[0] if errors else findings[0]
        message = first.message if first.rule.startswith("requires-") else f"runbook cannot be read: {first.message}"
        raise FatalError(message, location=f"{first.path}:{first.line}:{first.col}",
                         hint=first.hint or f"run `agentbook validate {path}`")
    return read.runbook


# Findings that do not stop a runbook from being read correctly by agentbook itself.
_COSMETIC = {"bom", "crlf", "frontmatter-dashes"}


def split_steps(body: str, body_line: int) -> tuple[str, list[Step]]:
    """Cut the body at `##` headings; fenced ```check blocks inside a step are its gates."""
    lines = body.split("\n")
    tokens = _markdown().parse(body)
    starts: list[tuple[int, str]] = []  # (body line index, title)
    fences: list[tuple[int, str]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h2" and tok.map:
            starts.append((tok.map[0], tokens[i + 1].content.strip()))
        elif tok.type == "fence" and tok.map and tok.info.strip().split(" ")[0] == GATE_INFO:
            fences.append((tok.map[0], tok.content.rstrip("\n")))
    intro_end = starts[0][0] if starts else len(lines)
    steps: list[Step] = []
    for n, (start, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        gates = [Gate(cmd, at + body_line) for at, cmd in fences if start < at < end]
        steps.append(Step(n + 1, title, "\n".join(lines[start + 1:end]).strip("\n"), gates, start + body_line))
    return "\n".join(lines[:intro_end]).strip("\n"), steps
