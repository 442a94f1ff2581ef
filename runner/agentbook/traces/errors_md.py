"""errors.md (what went wrong, short enough to read whole) and findings.tsv (every finding, one a line).

A real error (a failed span, a tool error) is listed in full, up to LISTED_ERRORS per section. The
merely suspicious (empty or truncated outputs, retries, refusals, warnings) are listed one by one while
a section is short; past LISTED_SUSPICIOUS entries it becomes one line per kind of finding (count, span
names and models, the first few places), because a trace whose instrumentation never records the
model's reply has one such finding per model call: 136 KB of errors.md on 2,506 spans, burying the
one failure that mattered. findings.tsv, never cut, has every finding for grep.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from .findings import TITLES, Finding
from .layout import Layout
from .model import Span, Trace
from .names import one_line
from .values import clean_text

FINDINGS_FILE = "findings.tsv"
ERROR_SECTIONS = ("failed", "tool_error")
LISTED_ERRORS = 200  # real errors listed one by one per section; the rest are in findings.tsv
LISTED_SUSPICIOUS = 12  # a suspicious section longer than this is summarised by kind
LISTED_KINDS = 10  # kinds of finding summarised per section; rarer kinds are counted together
LISTED_PROBLEMS = 100  # placement problems listed; trace.json has them all
SHOWN = 3  # names, models and places shown per kind


def _entry(layout: Layout, f: Finding) -> str:
    detail = one_line(clean_text(f.detail), 300)
    if f.related is not None:
        detail += f" (`{layout.ref(f.related)}`)"
    return f"- `{layout.ref(f.span)}` {f.span.kind} `{one_line(clean_text(f.span.name), 60)}`: {detail}"


def _kind_of(f: Finding) -> str:
    """What findings of one section have in common: the detail without what differs span to span."""
    if f.detail.startswith("reply starts: "):
        return "the reply starts like a refusal"
    return one_line(re.sub(r"\d+", "N", clean_text(f.detail)), 100)


def _names(spans: list[Span]) -> Counter[str]:
    """Span names, or with their numbers masked when that groups them (`chat 3`, `chat 5`: `chat N`)."""
    exact = Counter(s.name for s in spans)
    if len(exact) <= SHOWN:
        return exact
    masked = Counter(re.sub(r"\d+", "N", s.name) for s in spans)
    return masked if len(masked) < len(exact) else exact


def _common(values: Counter[str]) -> str:
    shown = ", ".join(f"`{one_line(clean_text(v), 40)}` x{n}" for v, n in values.most_common(SHOWN))
    rest = len(values) - SHOWN
    return shown + (f" and {rest} more" if rest > 0 else "")


def _summary(layout: Layout, section: str, kind: str, found: list[Finding]) -> str:
    spans: list[Span] = [f.span for f in found]
    kinds = Counter(s.kind for s in spans)
    what = " / ".join(f"{k}" for k, _ in kinds.most_common())
    line = f"- {len(found)} {what} spans: {kind}; names {_common(_names(spans))}"
    models = Counter(s.model for s in spans if s.model)
    if models:
        line += f"; models {_common(models)}"
    places = ", ".join(f"`{layout.ref(s)}`" for s in spans[:SHOWN])
    return line + f"; first at {places}; all: `grep -P '^{section}\\t' {FINDINGS_FILE}`"


def _section(layout: Layout, section: str, found: list[Finding]) -> Iterator[str]:
    if section in ERROR_SECTIONS or len(found) <= LISTED_SUSPICIOUS:
        yield from (_entry(layout, f) for f in found[:LISTED_ERRORS])
        if len(found) > LISTED_ERRORS:
            yield (f"- ... and {len(found) - LISTED_ERRORS} more, one a line in `{FINDINGS_FILE}`: "
                   f"`grep -P '^{section}\\t' {FINDINGS_FILE}`")
        return
    by_kind: dict[str, list[Finding]] = {}
    for f in found:
        by_kind.setdefault(_kind_of(f), []).append(f)
    ranked = sorted(by_kind.items(), key=lambda item: -len(item[1]))  # stable: ties keep tree order
    yield from (_summary(layout, section, kind, group) for kind, group in ranked[:LISTED_KINDS])
    rest = sum(len(group) for _, group in ranked[LISTED_KINDS:])
    if rest:
        yield f"- {rest} more of {len(ranked) - LISTED_KINDS} other kinds: `grep -P '^{section}\\t' {FINDINGS_FILE}`"


def errors_lines(trace: Trace, layout: Layout, findings: list[Finding]) -> Iterator[str]:
    """`findings` grouped by section (findings.in_order)."""
    yield "# Errors and suspicious spans"
    if not findings and not trace.problems:
        yield from ("", "No failed or suspicious spans found, and every span was placed in the tree.")
    sections: dict[str, list[Finding]] = {}
    for f in findings:
        sections.setdefault(f.section, []).append(f)
    for section, found in sections.items():
        yield from ("", f"## {TITLES[section]}", "")
        yield from _section(layout, section, found)
    if trace.problems:
        yield from ("", "## Could not place", "", ("The source had spans this export could not put in the tree "
                    "as given; they are under `_orphans/`."), "")
        yield from (f"- {one_line(clean_text(p), 300)}" for p in trace.problems[:LISTED_PROBLEMS])
        if len(trace.problems) > LISTED_PROBLEMS:
            yield f"- ... and {len(trace.problems) - LISTED_PROBLEMS} more: `problems` in trace.json"
    if any(len(found) > (LISTED_ERRORS if s in ERROR_SECTIONS else LISTED_SUSPICIOUS) for s, found in sections.items()):
        yield ""
        yield f"Every finding, one a line (section, where, kind, name, model, span id, detail): `{FINDINGS_FILE}`."


def findings_lines(layout: Layout, findings: list[Finding]) -> Iterator[str]:
    """findings.tsv: one row per finding, for grep and cut; fields are one line each and bounded."""
    yield "section\twhere\tkind\tname\tmodel\tspan_id\tdetail"
    for f in findings:
        detail = one_line(clean_text(f.detail), 300)
        if f.related is not None:
            detail += f" (after {layout.ref(f.related)})"
        yield "\t".join([f.section, layout.ref(f.span), f.span.kind, one_line(clean_text(f.span.name), 120),
                         one_line(clean_text(f.span.model), 80), one_line(clean_text(f.span.span_id), 80), detail])
