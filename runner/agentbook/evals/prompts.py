"""`agentbook eval prompts SUITE`: the prompts a suite runs, where each is written, and its tokens.

A promptfoo suite writes its prompts in files (`file://prompts/x.md`) or inline (`prompts: ["...{{var}}..."]`,
`- id: x` / `raw: ...`). To consolidate inline prompts an agent must find them without reading a
megabyte suite whole: each prompt is shown (bounded) with the lines of the suite that write it, and
counted as `baseline` counts it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from agentbook import yamlsafe
from agentbook.evals.index import Loader, skip_node
from agentbook.evals.render import item_prompts, literal_braces, prompt_ref
from agentbook.evals.store import Suite


@dataclass
class PromptInfo:
    index: int  # 1-based, in the order `eval run` runs them
    label: str
    source: str  # "inline" (written in the suite) or "file"
    location: str  # suite.yaml:5-6 for an inline prompt; the file for a file one
    tokens: int
    text: str  # the template (a chat prompt: its messages as JSON)
    literal_braces: list[str]  # names written `{name}`, which the template sends as text (render.literal_braces)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "source": self.source, "location": self.location,
                "tokens": self.tokens, "text": self.text, "literal_braces": self.literal_braces}


def list_prompts(suite: Suite) -> list[PromptInfo]:
    from agentbook.standin.tokens import count_text

    raw = suite.config().get("prompts")
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    places = item_lines(yamlsafe.read_bytes(suite.path))
    out: list[PromptInfo] = []
    for n, item in enumerate(items):
        # a bare `prompts/x.txt` is a file too (promptfoo reads it so): never "edit it in the suite"
        ref = prompt_ref(str(item.get("raw") or item.get("id") or "") if isinstance(item, dict) else item)
        file = ref if isinstance(ref, str) and ref.startswith("file://") else None
        first, last = places[n] if n < len(places) else (0, 0)
        where = f"{suite.path}:{first}" + (f"-{last}" if last > first else "")
        for prompt in item_prompts(item, suite.base_dir, suite.root):
            text = prompt.text if prompt.chat is None else json.dumps(prompt.chat, ensure_ascii=False)
            named = os.path.normpath(suite.base_dir / file.removeprefix("file://")) if file else ""
            out.append(PromptInfo(len(out) + 1, prompt.label, "file" if file else "inline",
                                  f"{named} (named at {where})" if file else where,
                                  count_text(text), text, literal_braces(prompt)))
    return out


def item_lines(data: bytes) -> list[tuple[int, int]]:
    """(first line, last line) of each item of the root mapping's `prompts` (one for a lone scalar),
    read from the parser's events: no Python objects for the rest of a big suite."""
    events = _events(data)
    for ev in events:
        if isinstance(ev, yaml.MappingStartEvent):
            return _in_root(events)
        if not isinstance(ev, (yaml.StreamStartEvent, yaml.DocumentStartEvent)):
            return []
    return []


def _events(data: bytes) -> Iterator[yaml.Event]:
    parser = Loader(data)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def _in_root(events: Iterator[yaml.Event]) -> list[tuple[int, int]]:
    for key in events:
        if isinstance(key, yaml.MappingEndEvent):
            break
        value = next(events)
        if isinstance(key, yaml.ScalarEvent) and key.value == "prompts":
            if isinstance(value, yaml.SequenceStartEvent):
                out: list[tuple[int, int]] = []
                for item in events:
                    if isinstance(item, yaml.SequenceEndEvent):
                        return out
                    out.append(_span(item, events))
            return [_span(value, events)]
        _span(key, events)
        _span(value, events)
    return []


def _span(first: yaml.Event, events: Iterator[yaml.Event]) -> tuple[int, int]:
    """The 1-based lines a node starting with `first` covers (its events consumed)."""
    start, end = first.start_mark, skip_node(first, events).end_mark
    assert start is not None and end is not None  # libyaml always sets marks
    # an end mark at column 0 is the start of the next line: the node ended on the line before
    return start.line + 1, max(start.line + 1, end.line + (1 if end.column else 0))


def literal_note(names: list[str]) -> str:
    """Why `{name}` in a prompt is text, and what a variable looks like."""
    written = ", ".join("{" + n + "}" for n in names)
    return (f"{written} {'is' if len(names) == 1 else 'are'} sent as written: promptfoo's templates (Nunjucks) "
            f"read a variable as {{{{{names[0]}}}}}, so vars.{names[0]} never reaches the model this way")


def prompts_text(suite: Suite, prompts: list[PromptInfo], cut: int | None) -> str:
    """What `eval prompts` prints: each prompt's place and tokens, then its text (cut at `cut` characters)."""
    total = sum(p.tokens for p in prompts)
    lines = [(f"{len(prompts)} prompt{'s' if len(prompts) != 1 else ''} in {suite.path}, {total} tokens "
             "(as agentbook baseline counts them)")]
    for p in prompts:
        name = f"{p.label}: " if p.label and not p.text.startswith(p.label) and p.source == "inline" else ""
        lines.append(f"[{p.index}] {name}{p.source}, {p.location}, {p.tokens} tokens")
        text = p.text if cut is None or len(p.text) <= cut else \
            p.text[:cut] + f" [... {len(p.text) - cut} chars more: --full or --json]"
        lines += [f"    {line}" for line in text.splitlines() or [""]]
        if p.literal_braces:
            lines.append(f"    note: {literal_note(p.literal_braces)}")
    if any(p.source == "inline" for p in prompts):
        lines.append(f"inline prompts are edited in {suite.path} itself, at the lines shown (read just those "
                     f"lines); agentbook baseline ... --prompt {suite.path} counts every prompt the suite runs")
    return "\n".join(lines)
