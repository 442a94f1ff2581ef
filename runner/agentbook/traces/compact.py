"""The compact layout's files: each agent subtree's spans as `spans-A-B.md` (to read) and
`spans-A-B.jsonl` (every field in full, one span per line), up to `CHUNK_SPANS` spans per pair.

A large trace written one folder per span is mostly file-system work (five small files per span);
written per agent subtree it is two files per hundred or so spans, and still as navigable: errors.md
and index.tsv give each span's `file:line`, every span starts with a `## NNN kind name [status]`
line, and `grep -n` finds any of them.
"""

from __future__ import annotations

import json
from typing import Any

from .findings import span_findings
from .layout import CHUNK_SPANS, Layout
from .model import Content, Message, Span
from .names import one_line
from .render import LIMIT, fmt_ms, iso
from .values import clean_text, maybe_json

ATTR_CHARS = 300  # per attribute value in the .md (the .jsonl line has it whole)


def _cut(text: str, where: str) -> str:
    text = clean_text(text)
    if len(text) <= LIMIT:
        return text
    rest = len(text[LIMIT:].encode("utf-8"))
    return text[:LIMIT] + f"\n[truncated: {rest} bytes more; the full text is in {where}]"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = one_line(clean_text(text), 10**9)
    return text if len(text) <= ATTR_CHARS else text[:ATTR_CHARS] + " [...]"


def _pretty(text: str | None) -> str:
    parsed = maybe_json(text or "")
    if isinstance(parsed, (dict, list)):
        return json.dumps(parsed, indent=2, ensure_ascii=False)
    return text or ""


def header(span: Span, layout: Layout) -> str:
    number = f"{layout.number[span]:0{layout.width}d}"
    tokens = f" {span.total_tokens} tok" if span.total_tokens is not None else ""
    return (f"## {number} {span.kind} {one_line(clean_text(span.name), 100)} [{span.status}] "
            f"{fmt_ms(span.duration_ms)}{tokens}")


def _facts(span: Span, c: Content, layout: Layout) -> list[str]:
    parent = layout.parents.get(span)
    facts = [f"id {clean_text(span.span_id)}"]
    if parent is not None:
        facts.append(f"parent {layout.number[parent]:0{layout.width}d}")
    facts += [f"start {iso(span.start_ns)}"] if span.start_ns is not None else []
    if span.model:
        facts.append(f"model {clean_text(span.model)}")
    if span.total_tokens is not None:
        facts.append(f"tokens in/out {span.input_tokens}/{span.output_tokens}")
    if span.cost_usd is not None:
        facts.append(f"cost ${span.cost_usd:.6f}")
    if span.tool_name or span.tool_call_id:
        facts.append(f"tool {clean_text(span.tool_name)} call {clean_text(span.tool_call_id)}".rstrip())
    lines = ["- " + "; ".join(facts)]
    if span.status_message:
        lines.append(f"- status: {_short(span.status_message)}")
    for warning in c.warnings:
        lines.append(f"- warning: {_short(warning)}")
    if c.prompt:
        lines.append("- prompt: " + ", ".join(f"{k}={_short(v)}" for k, v in sorted(c.prompt.items())
                                              if k != "template"))
    if c.attributes:
        lines.append("- attributes: " + "; ".join(f"{clean_text(str(k))}={_short(v)}"
                                                 for k, v in sorted(c.attributes.items())))
    for event in c.events:
        lines.append(f"- event {_short(event.get('name'))} at {iso(event.get('time_ns'))}: "
                     f"{_short(event.get('attributes') or {})}")
    for score in c.scores:
        lines.append(f"- score: {_short(score)}")
    return lines


def _message(index: int, msg: Message, side: str, shared: str | None, where: str) -> list[str]:
    head = f"#### {index:03d} {clean_text(msg.role)} ({side})"
    meta = [f"{k} {clean_text(v)}" for k, v in (("name", msg.name), ("tool_call_id", msg.tool_call_id),
                                                  ("finish", msg.finish_reason), ("time", iso(msg.time_ns) or ""))
            if v]
    lines = [head + (" · " + "; ".join(meta) if meta else "")]
    if shared is not None:
        lines.append(f"[repeated system prompt, {len(msg.content)} chars: written once at {shared}]")
    elif msg.content:
        lines.append(_cut(msg.content, where))
    if msg.reasoning:
        lines += ["reasoning:", _cut(msg.reasoning, where)]
    for call in msg.tool_calls:
        lines.append(f"tool call {clean_text(call.name)}" + (f" (id {clean_text(call.id)})" if call.id else "") + ": "
                     + _cut(call.arguments, where))
    return lines


def section(span: Span, layout: Layout, shared: dict[int, str], where: str) -> list[str]:
    """The lines of one span in a spans-*.md file."""
    c = span.content()
    lines = [header(span, layout), *_facts(span, c, layout)]
    offset = 0
    for side, msgs, text in (("input", c.input_messages, c.input_text), ("output", c.output_messages, c.output_text)):
        if msgs or text:
            lines.append(f"### {side}")
            for n, msg in enumerate(msgs, offset):
                lines += _message(n, msg, side, shared.get(id(msg)), where)
            if text:
                lines.append(_cut(text, where))
        offset += len(msgs)
    if c.prompt.get("template"):
        lines += ["### prompt template", _cut(c.prompt["template"], where)]
    if c.tool_args is not None:
        lines += ["### tool args", _cut(_pretty(c.tool_args), where)]
    if c.tool_result is not None:
        lines += ["### tool result", _cut(c.tool_result, where)]
    return [line for part in lines for line in part.split("\n")] + [""]


def _message_record(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": msg.role, "content": msg.content}
    for key in ("name", "tool_call_id", "reasoning", "finish_reason"):
        if getattr(msg, key):
            out[key] = getattr(msg, key)
    if msg.time_ns is not None:
        out["time"] = iso(msg.time_ns)
    if msg.tool_calls:
        out["tool_calls"] = [{"name": c.name, "id": c.id, "arguments": c.arguments} for c in msg.tool_calls]
    return out


def record(span: Span, layout: Layout) -> dict[str, Any]:
    """Every field of a span, in full (a spans-*.jsonl line)."""
    parent = layout.parents.get(span)
    out: dict[str, Any] = {
        "number": layout.number[span], "id": span.span_id, "parent_id": span.parent_id,
        "parent_number": layout.number[parent] if parent is not None else None, "trace_id": span.trace_id,
        "kind": span.kind, "name": span.name, "status": span.status, "status_message": span.status_message,
        "start": iso(span.start_ns), "end": iso(span.end_ns), "model": span.model,
        "input_tokens": span.input_tokens, "output_tokens": span.output_tokens, "cost_usd": span.cost_usd,
        "tool_name": span.tool_name, "tool_call_id": span.tool_call_id}
    out = {k: v for k, v in out.items() if v not in (None, "")}
    c = span.content()
    for key in ("input_messages", "output_messages"):
        msgs = getattr(c, key)
        if msgs:
            out[key] = [_message_record(m) for m in msgs]
    for key in ("input_text", "output_text", "tool_args", "tool_result", "prompt", "attributes", "events", "scores",
                "warnings"):
        value = getattr(c, key)
        if value not in (None, "", [], {}):
            out[key] = value
    return out


def chunks(members: list[Span]) -> list[list[Span]]:
    return [members[i:i + CHUNK_SPANS] for i in range(0, len(members), CHUNK_SPANS)]


def file_stem(layout: Layout, chunk: list[Span]) -> str:
    first, last = layout.number[chunk[0]], layout.number[chunk[-1]]
    return f"spans-{first:0{layout.width}d}-{last:0{layout.width}d}"


def write_group(writer: Any, head: Span, members: list[Span]) -> None:
    """One agent subtree: its spans.md/.jsonl pairs; each span's place (`file:line`) goes into the layout."""
    layout: Layout = writer.layout
    folder = layout.path[head]
    for chunk in chunks(members):
        stem = file_stem(layout, chunk)
        md: list[str] = [(f"# spans {stem.removeprefix('spans-')} of the subtree at `{folder}/` "
                         f"(every field in full: {stem}.jsonl, one line per span in this order)"), ""]
        jsonl: list[str] = []
        for n, span in enumerate(chunk, 1):
            shared = {id(m): ref for m in span.input_messages if (ref := writer._shared_ref(m)) is not None}
            layout.path[span] = f"{folder}/{stem}.md:{len(md) + 1}"
            md += section(span, layout, shared, f"{stem}.jsonl line {n}")
            jsonl.append(json.dumps(record(span, layout), ensure_ascii=False, default=str))
            writer.findings += span_findings(span)
            span.release()
        writer.write(f"{folder}/{stem}.md", "\n".join(md), cut_long=False)
        writer.write(f"{folder}/{stem}.jsonl", "\n".join(jsonl) + "\n", cut_long=False)
        writer.flush()
