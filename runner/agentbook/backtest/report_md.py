"""Analysts' words as Markdown prose in report.md and the cohort pages: what they quoted in backticks
(an error message, a name, a path) stays code, everything else is literal text.

`gitops.inert.plain` escapes every character Markdown acts on, backticks included, so a finding that
quotes `KeyError: 'invoice_id'` showed as \\`KeyError...\\` with the backslashes. Here the backtick runs
are paired as CommonMark pairs them (a run opens a code span that the next run of the same length
closes; a run with no such partner is literal), and each pair's text is written back as a code span
whose fence is longer than any run of backticks inside it (`inert.span`), so nothing in it can close
it early and none of it is Markdown; the text between spans goes through `plain` as before, so it
makes no link, image, HTML, heading, emphasis or table cell. Not for table cells: a `|` inside a code
span would still split the cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentbook.fence import visible
from agentbook.fsutil import atomic_write_json, atomic_write_text
from agentbook.gitops.inert import plain, span
from agentbook.redaction import process_redactor

_RUN = re.compile(r"`+")


def _segments(text: str) -> list[tuple[bool, str]]:
    """(is_code, text) pieces of one line, backtick runs paired as CommonMark pairs them."""
    runs = list(_RUN.finditer(text))
    out: list[tuple[bool, str]] = []
    pos, i = 0, 0
    while i < len(runs):
        opener = runs[i]
        closer = next((j for j in range(i + 1, len(runs)) if len(runs[j].group()) == len(opener.group())), None)
        if closer is None:  # no partner: the run is literal text, and the next run may open a span
            i += 1
            continue
        if opener.start() > pos:
            out.append((False, text[pos:opener.start()]))
        out.append((True, text[opener.end():runs[closer].start()]))
        pos = runs[closer].end()
        i = closer + 1
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def write_page(path: Path, text: str) -> None:
    """A page made of what analysts and traces said (report.md, a cohort page, fixes.md, a fix ticket),
    written through the process's redactor: a trace is attacker-written and may hold a key this process
    holds, plain or encoded, and the page is committed and shown in a pull request."""
    atomic_write_text(path, process_redactor().text(text))


def write_redacted_json(path: Path, value: Any) -> None:
    """`value` as JSON, through the redactor as `write_page`."""
    atomic_write_json(path, process_redactor().json(value))


def prose(text: str, limit: int = 2000) -> str:
    """`text` on one line: its backtick-quoted parts as code spans, the rest as literal prose."""
    flat = " ".join(visible(text).split())
    if len(flat) > limit:
        flat = flat[:limit] + "..."
    return "".join(span(part, limit) if code else _literal(part, limit) for code, part in _segments(flat))


def bound_by(parts: Sequence[Sequence[Any]]) -> str:
    """agentbook's own sentence on what binds a cohort (`[label, [thing, ...]]` pairs: evidence.summarise),
    each thing a code span of its own."""
    said = [f"{plain(str(part[0]))} " + ", ".join(span(str(t)) for t in part[1])
            for part in parts if isinstance(part, list | tuple) and len(part) == 2 and isinstance(part[1], list)
            and part[1]]
    return "Bound by " + " and ".join(said) + "." if said else ""


def definition(text: str, parts: Sequence[Sequence[Any]]) -> str:
    """A cohort's definition: the analyst's words and agentbook's own, each rendered on its own, so a
    backtick the analyst left unpaired cannot pair with the first one of agentbook's sentence."""
    return " ".join(x for x in (prose(text), bound_by(parts)) if x)


def _literal(part: str, limit: int) -> str:
    """`plain` of a piece between code spans, keeping the space that parts it from them."""
    body = plain(part, limit)
    return (" " if part[:1] == " " and body else "") + body + (" " if part[-1:] == " " else "")
