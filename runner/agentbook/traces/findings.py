"""What errors.md lists: failed spans, tool errors, empty or truncated outputs, retries, refusals."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass

from .model import Span, Trace

TRUNCATED_REASONS = {"length", "max_tokens", "max_output_tokens", "model_length"}
REFUSAL_REASONS = {"content_filter", "refusal", "safety"}
REFUSAL_TEXT = re.compile(
    r"^\s*(I'm sorry|I am sorry|Sorry, I can|I can(?:no|')t (?:help|assist|do)|I'm unable|I am unable|"
    r"I won't|I will not)", re.IGNORECASE)
SECTIONS = ("failed", "tool_error", "empty_output", "truncated_output", "retry", "refusal", "warning")
TITLES = {
    "failed": "Failed spans (status ERROR)", "tool_error": "Tool errors",
    "empty_output": "Empty outputs (model spans that returned nothing)",
    "truncated_output": "Truncated outputs (stopped by a length limit)",
    "retry": "Retries (same step run again after a failure)", "refusal": "Refusals (possible)",
    "warning": "Warnings",
}


@dataclass(frozen=True, slots=True)
class Finding:
    section: str
    span: Span
    detail: str
    related: Span | None = None  # for retries: the failed span that came before


def _finish_reasons(span: Span) -> set[str]:
    return {r.strip().lower() for m in span.output_messages for r in m.finish_reason.split(",") if r.strip()}


def _span_findings(span: Span) -> list[Finding]:
    out: list[Finding] = []
    if span.status == "error":
        section = "tool_error" if span.kind == "tool" else "failed"
        out.append(Finding(section, span, span.status_message or "status ERROR, no message"))
    reasons = _finish_reasons(span)
    has_output = any(m.content or m.tool_calls for m in span.output_messages) or span.output_text
    has_input = bool(span.input_messages or span.input_text)
    if span.kind == "llm" and span.status != "error" and not has_output:
        if span.output_messages:
            out.append(Finding("empty_output", span, "the model's reply has no text and no tool calls"))
        elif has_input:  # content was captured (there is input), yet no output: the call never finished?
            out.append(Finding("empty_output", span, "input recorded but no output"))
    if reasons & TRUNCATED_REASONS:
        out.append(Finding("truncated_output", span, "finish reason " + ", ".join(sorted(reasons))))
    reply = " ".join(m.content for m in span.output_messages if m.role == "assistant")
    if reasons & REFUSAL_REASONS:
        out.append(Finding("refusal", span, "finish reason " + ", ".join(sorted(reasons))))
    elif span.kind == "llm" and REFUSAL_TEXT.match(reply):
        out.append(Finding("refusal", span, "reply starts: " + reply.strip()[:80]))
    for warning in span.warnings:
        out.append(Finding("warning", span, warning))
    return out


RETRY_WINDOW = 5  # later siblings looked at for a retry of a failed span
NEAR_SAME = 0.8  # arguments this alike (difflib's ratio) are the same call again: a typo fixed, a flag added
MAX_PARSED = 64 * 1024  # larger arguments are compared as text, not parsed
ARGS_COMPARED = 2000  # characters of each call's arguments compared (difflib is quadratic in the worst case)


def _retries(span: Span) -> list[Finding]:
    """A failed child run again by a later sibling (any model call; a tool or step only when it is the
    same one with the same or near-same arguments: `ls` after a failed `grep` is the next command, not
    a retry), even with other spans in between; each failure is matched with its first retry only."""
    out = []
    children = span.children
    for n, before in enumerate(children):
        if before.status != "error":
            continue
        for after in children[n + 1:n + 1 + RETRY_WINDOW]:
            if after.kind == before.kind and (after.kind == "llm" or _same_call(before, after)):
                out.append(Finding("retry", after, "runs again after a failed span", before))
                break
    return out


def _same_call(before: Span, after: Span) -> bool:
    """The same tool or step, called with the same or near-same arguments: alike, or one holding the
    other (a query cut back to its part that parses). When either call's arguments were not recorded,
    the name alone decides: nothing says the call differed."""
    if not (after.name == before.name or (before.tool_name and after.tool_name == before.tool_name)):
        return False
    was, now = _arguments(before), _arguments(after)
    if not was or not now or was == now:
        return True
    short, long = sorted((was, now), key=len)
    if short in long and 2 * len(short) >= len(long):
        return True
    return difflib.SequenceMatcher(None, was, now, autojunk=False).ratio() >= NEAR_SAME


def _arguments(span: Span) -> str:
    """The call's argument values (a JSON object's keys are the same for every call of a tool and would
    make any two alike), whitespace folded, cut to what is compared."""
    raw = span.tool_args if span.tool_args is not None else span.input_text
    try:
        parsed = json.loads(raw) if raw.lstrip().startswith("{") and len(raw) <= MAX_PARSED else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        raw = " ".join(v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in parsed.values())
    return " ".join(raw.split())[:ARGS_COMPARED]


def span_findings(span: Span) -> list[Finding]:
    """What errors.md lists for this span (and retries among its children)."""
    return _span_findings(span) + _retries(span)


def in_order(found: list[Finding]) -> list[Finding]:
    """Grouped by section; within one, tree order is kept (so errors.md reads like tree.txt)."""
    rank = {name: n for n, name in enumerate(SECTIONS)}
    return sorted(found, key=lambda f: rank[f.section])


def find(trace: Trace, order: list[Span]) -> list[Finding]:
    found: list[Finding] = []
    for span in order:
        found += span_findings(span)
        span.release()  # packed content was unpacked to look at it; drop that copy again
    return in_order(found)
