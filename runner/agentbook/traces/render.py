"""Text for the files of one span folder: span.yaml, input.md, output.md, messages/, tool/.

Pure functions from a span to strings; `export.py` decides where they go. Payloads over `LIMIT`
characters are cut with an explicit `[truncated: N bytes, rest in FILE]` marker, and the rest is
written to FILE beside them, so nothing is lost and no file is too big to `cat`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .model import Message, Span
from .names import one_line, slug
from .values import clean_text, maybe_json

LIMIT = 20_000  # characters per text file before the rest moves to a `.rest` file
ATTR_LIMIT = 400  # characters per value in span.yaml (span.json then holds every value in full)

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9 _./@+-]*$")
_QUOTE_ONLY = re.compile(r"^[A-Za-z0-9_./@+ :#-]*$")
_SPECIAL = re.compile(r"^(?:y|n|yes|no|on|off|true|false|null|none|~)$", re.IGNORECASE)


def yaml_scalar(value: Any) -> str:
    """A YAML scalar: plain when unambiguous, else a JSON string (valid YAML double-quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and not _SPECIAL.match(text) and not text.endswith((" ", ":")) and ": " not in text \
            and " #" not in text:
        return text
    if _QUOTE_ONLY.match(text):  # ids, numbers-as-text, paths: quoting needs no escapes
        return f'"{text}"'
    return json.dumps(text, ensure_ascii=False)


def _leaf(item: Any) -> str:
    if isinstance(item, dict):
        return "{}"
    if isinstance(item, list):
        return "[]"
    return yaml_scalar(item)


def yaml_block(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML lines for dicts and lists of scalars or dicts (span.yaml's shapes only).

    Written by hand because span.yaml is written once per span and PyYAML's representer dominated
    export time on large traces; tests load every span.yaml back with yaml.safe_load.
    """
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = yaml_scalar(str(key))
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{name}:")
                lines += yaml_block(item, indent + 2)
            else:
                lines.append(f"{pad}{name}: {_leaf(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                sub = yaml_block(item, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines += sub[1:]
            else:
                lines.append(f"{pad}- {_leaf(item)}")
    return lines


def cut(text: str, rest_name: str) -> tuple[str, str | None]:
    """(head, rest): head ends with a pointer to `rest_name` when the text was too long."""
    if len(text) <= LIMIT:
        return text, None
    rest = text[LIMIT:]
    marker = f"\n\n[truncated: {len(rest.encode('utf-8'))} bytes, rest in {rest_name}]\n"
    return text[:LIMIT] + marker, rest


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str | None:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    except (OverflowError, OSError, ValueError):  # readers bound timestamps; library callers may not
        return None


def iso(ns: int | None) -> str | None:
    """ISO 8601 with milliseconds (spans of one trace share seconds: those are formatted once)."""
    if ns is None:
        return None
    stamp = _second(ns // 1_000_000_000)
    return None if stamp is None else f"{stamp}.{ns % 1_000_000_000 // 1_000_000:03d}Z"


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms:.0f}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def _short(value: Any) -> Any:
    """A value small enough for span.yaml: long text is cut with a pointer to span.json."""
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = clean_text(text)
    if len(text) > ATTR_LIMIT:
        rest = len(text[ATTR_LIMIT:].encode("utf-8"))
        return text[:ATTR_LIMIT] + f" [truncated: {rest} bytes, rest in span.json]"
    return text


def _full(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _full(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_full(v) for v in value]
    return value


def span_files(span: Span, number: int, path: str, parent_path: str | None) -> tuple[str, str | None]:
    """span.yaml, and span.json (every value in full) when span.yaml had to shorten something."""
    cut: list[bool] = []

    def short(value: Any) -> Any:
        out = _short(value)
        if isinstance(out, str) and out.endswith("rest in span.json]"):
            cut.append(True)
        return out

    text = "\n".join(yaml_block(_span_doc(span, number, path, parent_path, short))) + "\n"
    if not cut:
        return text, None
    full = _span_doc(span, number, path, parent_path, _full)
    return text, json.dumps(full, indent=2, ensure_ascii=False, default=str) + "\n"


def _span_doc(span: Span, number: int, path: str, parent_path: str | None,
              value: Callable[[Any], Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "number": number, "path": path, "parent_path": parent_path, "id": span.span_id,
        "parent_id": span.parent_id, "trace_id": span.trace_id, "kind": span.kind, "name": clean_text(span.name),
        "status": span.status}
    if span.status_message:
        doc["status_message"] = value(span.status_message)
    doc["start"] = iso(span.start_ns)
    if span.end_ns is not None and span.end_ns != span.start_ns:
        doc["end"] = iso(span.end_ns)
    doc["duration_ms"] = round(span.duration_ms, 3) if span.duration_ms is not None else None
    if span.model:
        doc["model"] = clean_text(span.model)
    if span.total_tokens is not None:
        doc["tokens"] = {"input": span.input_tokens, "output": span.output_tokens, "total": span.total_tokens}
    if span.cost_usd is not None:
        doc["cost_usd"] = round(span.cost_usd, 8)
    if span.prompt:
        doc["prompt"] = {k: value(v) for k, v in sorted(span.prompt.items()) if k != "template"}
    if span.tool_name or span.tool_call_id:
        doc["tool"] = {"name": clean_text(span.tool_name), "call_id": clean_text(span.tool_call_id)}
    doc["messages"] = {"input": len(span.input_messages), "output": len(span.output_messages),
                       "tool_calls": span.tool_call_count}
    reasons = [clean_text(m.finish_reason) for m in span.output_messages if m.finish_reason]
    if reasons:
        doc["finish_reasons"] = reasons
    doc["children"] = len(span.children)
    for key in ("warnings", "scores"):
        if getattr(span, key):
            doc[key] = [value(x) if not isinstance(x, dict) else {k: value(v) for k, v in x.items()}
                        for x in getattr(span, key)]
    if span.attributes:
        doc["attributes"] = {clean_text(str(k)): value(v) for k, v in sorted(span.attributes.items())}
    if span.events:
        doc["events"] = [{"name": value(e.get("name")), "time": iso(e.get("time_ns")),
                          "attributes": {clean_text(str(k)): value(v) for k, v in (e.get("attributes") or {}).items()}}
                         for e in span.events]
    return doc


def message_file_name(index: int, msg: Message) -> str:
    return f"{index:03d}-{slug(msg.role, 20, 'message')}.md"


def message_md(index: int, msg: Message, side: str, shared_prompt: str | None) -> str:
    head = f"# message {index:03d} · {clean_text(msg.role)} · {side}\n"
    # finish_reason lives in span.yaml and output.md, so an output message file is the reply alone
    meta = [f"{k}: {clean_text(v)}" for k, v in (("name", msg.name), ("tool_call_id", msg.tool_call_id),
                                                   ("time", iso(msg.time_ns) or "")) if v]
    parts = [head + ("\n".join(meta) + "\n" if meta else "")]
    if shared_prompt is not None:
        parts.append(f"[repeated system prompt, {len(msg.content)} chars: written once at "
                     f"{shared_prompt} in the root of this export]\n")
    elif msg.content:
        parts.append(clean_text(msg.content) + "\n")
    if msg.reasoning:
        parts.append("## reasoning\n\n" + clean_text(msg.reasoning) + "\n")
    for call in msg.tool_calls:
        parts.append(f"## tool call {clean_text(call.name)}" + (f" (id {clean_text(call.id)})" if call.id else "")
                     + "\n\n```json\n" + pretty_json(call.arguments) + "\n```\n")
    return "\n".join(parts)


def pretty_json(text: str | None) -> str:
    parsed = maybe_json(text or "")
    if isinstance(parsed, (dict, list)):
        return json.dumps(parsed, indent=2, ensure_ascii=False)
    return clean_text(text or "")


def preview(text: str, limit: int = 160) -> str:
    return one_line(clean_text(text), limit)


def io_md(span: Span, side: str, files: list[tuple[str, Message]], shared: dict[int, str]) -> str:
    """input.md / output.md: the messages at a glance with their files, then any plain payload."""
    text = span.input_text if side == "input" else span.output_text
    out = [f"# {side} of span {span.kind} {preview(span.name, 80)}\n"]
    if files:
        out.append(f"{len(files)} message(s); the full text of each is in its file.\n")
        for name, msg in files:
            calls = f", {len(msg.tool_calls)} tool call(s): " + ", ".join(
                preview(c.name, 40) for c in msg.tool_calls) if msg.tool_calls else ""
            body = f"(system prompt at {shared[id(msg)]})" if id(msg) in shared else \
                f'"{preview(msg.content)}"' if msg.content else "(no text)"
            out.append(f"- `messages/{name}` {clean_text(msg.role)}, {len(msg.content)} chars{calls}: {body}")
        out.append("")
    if side == "output" and files:
        for _, msg in files:
            if msg.content and id(msg) not in shared:
                out.append(f"## {clean_text(msg.role)}\n\n{clean_text(msg.content)}\n")
            if msg.finish_reason:
                out.append(f"finish reason: {clean_text(msg.finish_reason)}\n")
    if side == "input" and span.prompt.get("template"):
        out.append("## prompt template\n\n" + clean_text(span.prompt["template"]) + "\n")
    if text:
        out.append(clean_text(text) + "\n")
    return "\n".join(out)
