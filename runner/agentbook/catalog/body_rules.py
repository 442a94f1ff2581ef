"""Warnings about a skill's body and folder: length, links that are broken or reach too deep, and
SKILL.md files nested inside the skill (agents would not load them as skills)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt

from agentbook.catalog.findings import Finding
from agentbook.catalog.frontmatter import FrontMatter

MAX_BODY_LINES = 500
NESTED_WALK_LIMIT = 2000  # entries of a skill's folder searched for nested SKILL.md files
# folders that hold a tool's data, never a skill someone meant to nest
_NOT_SKILL_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"})
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark")


_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_REF_DEF = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s*<?([^\s>]+)")  # [label]: target; not a footnote [^1]: text


def links(body: str) -> Iterator[tuple[str, int]]:
    """(href, body line index) of every Markdown link and image outside fenced code.

    Blank lines and fences cut the body into runs of lines; only runs that hold link syntax go through
    markdown-it's inline parser (which knows code spans and escapes, and a link whose text wraps onto
    the next line); parsing the whole body as blocks costs ~2 ms for a long list, 10x the rest."""
    fence: str | None = None
    run: list[str] = []
    first = 0
    for index, line in enumerate(body.split("\n")):
        opener = _FENCE_OPEN.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            continue
        if opener or not line.strip():
            yield from _run_links(run, first)
            run = []
            fence = opener.group(1) if opener else None
            continue
        if not run:
            first = index
        run.append(line)
    yield from _run_links(run, first)


def _run_links(run: list[str], first: int) -> Iterator[tuple[str, int]]:
    """The links of consecutive lines starting at body line `first`: each on the line of its `](`."""
    text = "\n".join(run)
    if "](" not in text and "]:" not in text:
        return
    found = 0
    for block in _markdown().parseInline(text):
        for tok in block.children or []:
            target = tok.attrGet("href") if tok.type == "link_open" else (
                tok.attrGet("src") if tok.type == "image" else None)
            if not isinstance(target, str):
                continue
            if tok.markup == "autolink":  # <https://...>: no `](`, and never a file of the skill
                yield target, first + text.count("\n", 0, max(text.find(target), 0))
                continue
            at = text.find(f"]({target}", found)  # the target as written, unless markdown-it normalised it
            at = at if at >= 0 else text.find("](", found)
            found = at + 2 if at >= 0 else found
            yield target, first + text.count("\n", 0, max(at, 0))
    for offset, line in enumerate(run):
        definition = _REF_DEF.match(line)
        if definition:
            yield definition.group(1), first + offset


def check_body(fm: FrontMatter, skill_md: Path) -> list[Finding]:
    out: list[Finding] = []
    lines = fm.body.count("\n") + (0 if fm.body.endswith("\n") else 1)
    if lines > MAX_BODY_LINES:
        out.append(Finding(fm.path, fm.body_line, 1, "body-length",
                           f"body is {lines} lines; keep SKILL.md under {MAX_BODY_LINES}",
                           "move detail into references/ files and link them", "warning"))
    out += list(_check_links(fm, skill_md.parent))
    out += _nested_skills(fm, skill_md)
    return out


def _check_links(fm: FrontMatter, skill_dir: Path) -> Iterator[Finding]:
    body_lines = fm.body.split("\n")
    for href, index in links(fm.body):
        if not href or href.startswith(("#", "/")) or _SCHEME.match(href):
            continue
        rel = unquote(href.split("#", 1)[0].split("?", 1)[0])
        if not rel:
            continue
        line, col = _locate(href, body_lines, index)
        parts = Path(rel).parts
        where = (fm.path, fm.body_line + line, col)
        if ".." in parts:
            yield Finding(*where, "link-outside", f"link '{href}' leaves the skill folder",
                          "copy what it needs into the skill (references/ or assets/)", "warning")
        elif not (skill_dir / rel).exists():
            yield Finding(*where, "broken-link", f"link '{href}' points to a file that does not exist",
                          "fix the path (relative to the skill folder) or add the file", "warning")
        elif len(parts) > 2:
            yield Finding(*where, "reference-depth", f"reference '{href}' is more than one level deep",
                          "keep references one level deep, e.g. references/NAME.md", "warning")


def _locate(href: str, lines: list[str], start: int) -> tuple[int, int]:
    """Body line index and 1-based column of `href` in the paragraph that starts at `start`."""
    for i in range(start, min(start + 20, len(lines))):
        col = lines[i].find(href)
        if col >= 0:
            return i, col + 1
    return start, 1


def _nested_skills(fm: FrontMatter, skill_md: Path) -> list[Finding]:
    return [Finding(fm.path, 1, 1, "nested-skill", f"nested {rel} is not loaded as a skill",
                    "move it to its own folder next to this skill", "warning")
            for rel in sorted(nested_skill_files(skill_md.parent))]


def nested_skill_files(folder: Path, limit: int = NESTED_WALK_LIMIT) -> list[str]:
    """SKILL.md files in subfolders of a skill's folder, among its first `limit` entries in walk order
    (the skill tool's listing is bounded so too): a skill folder may be, or link to, a checkout's top,
    and walking it whole (its git data, its node_modules) cost a quarter of a second for each
    validation of each skill on 10,000 files. Tools' folders are never entered."""
    found: list[str] = []
    seen = 0
    for top, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d.lower() not in _NOT_SKILL_DIRS)
        seen += len(dirs) + len(names)
        if top != str(folder):
            found += [Path(top, n).relative_to(folder).as_posix() for n in names if n in ("SKILL.md", "skill.md")]
        if seen > limit:
            break
    return found
