"""File tools: `read` (numbered lines, paged), `write` (whole file, atomic), `edit` (exact unique replace)."""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.fsutil import NotRegular, atomic_write_bytes, atomic_write_text, file_kind, open_regular
from agentbook.session.paths import PathRefused, is_protected, relative, resolve_in_root
from agentbook.session.tools import ToolContext, ToolResult

READ_DEFAULT_LINES = 2000
READ_MAX_CHARS = 50_000
LINE_MAX_CHARS = 2000
WRITE_MAX_BYTES = 5_000_000
READ_MAX_FILE_BYTES = 20_000_000
READ_ON_LOOP_BYTES = 256_000  # smaller files are read on the event loop: cheaper than a thread hop


def read_regular(path: Path, limit: int = -1) -> bytes:
    """The bytes of `path` (at most `limit` of them) if it is a regular file, else NotRegular. Opened
    non-blocking and checked on the open descriptor, so a fifo swapped in after a check cannot hang the
    caller."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegular(f"{file_kind(st.st_mode)}, not a regular file")
    with open_regular(path) as handle:
        return handle.read(limit)


def _path_prop(what: str) -> dict[str, Any]:
    return {"type": "string", "description": f"{what}, relative to the working root"}


def writable_path(ctx: ToolContext, raw: object, tool: str) -> tuple[Path, str] | ToolResult:
    """Resolve `raw` for writing: the real path and its relative name, or a refusal result."""
    try:
        real = resolve_in_root(ctx.root, raw)
    except PathRefused as err:
        return ToolResult(f"error: {err}", is_error=True)
    rel = relative(ctx.root, real)
    # check both the name the agent used and where it really lands (a symlink to a protected file)
    lexical = os.path.normpath(str(raw)).lstrip("/") if not os.path.isabs(str(raw)) else rel
    for name in (lexical, rel):
        rule = is_protected(name, ctx.protected)
        if rule is not None:
            return ToolResult(f"error: {rel} is protected (rule {rule!r}): you may read it but not change it",
                              is_error=True, denied={"tool": tool, "path": rel, "rule": rule})
    if real.is_dir():
        return ToolResult(f"error: {rel} is a directory", is_error=True)
    return real, rel


@dataclass
class ReadTool:
    name: str = "read"
    description: str = (
        "Read a text file. Returns numbered lines (`N<TAB>text`). For long files pass `offset` (first "
        "line, 1-based) and `limit` (number of lines); the footer says how to see more.")
    input_schema: dict[str, Any] = field(default_factory=lambda: {
        "type": "object",
        "properties": {"path": _path_prop("File to read"),
                       "offset": {"type": "integer", "minimum": 1, "description": "First line (1-based)"},
                       "limit": {"type": "integer", "minimum": 1, "description": "Number of lines"}},
        "required": ["path"]})
    read_only: bool = True

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            real = resolve_in_root(ctx.root, args.get("path"))
        except PathRefused as err:
            return ToolResult(f"error: {err}", is_error=True)
        rel = relative(ctx.root, real)
        try:
            st = real.stat()
        except OSError:
            return ToolResult(f"error: {rel} does not exist", is_error=True)
        if stat.S_ISDIR(st.st_mode):
            return ToolResult(f"error: {rel} is a directory; use glob to list it", is_error=True)
        if not stat.S_ISREG(st.st_mode):
            return ToolResult(f"error: {rel} is a {file_kind(st.st_mode)}, not a regular file; refused",
                              is_error=True)
        size = st.st_size
        if size > READ_MAX_FILE_BYTES:
            return ToolResult(f"error: {rel} is {size} bytes, too big to read here; use grep, or bash with "
                              "head/sed to look at part of it", is_error=True)
        offset, limit = int(args.get("offset") or 1), int(args.get("limit") or READ_DEFAULT_LINES)
        if size > READ_ON_LOOP_BYTES:  # reading and splitting it would hold the event loop for a while
            return await asyncio.to_thread(_read_numbered, real, rel, offset, limit)
        return _read_numbered(real, rel, offset, limit)


def _read_numbered(real: Path, rel: str, offset: int, limit: int) -> ToolResult:
    try:
        data = read_regular(real)
    except OSError as err:
        return ToolResult(f"error: cannot read {rel}: {err}", is_error=True)
    if b"\x00" in data[:8192]:
        return ToolResult(f"{rel}: binary file ({len(data)} bytes), not shown")
    return ToolResult(number_lines(data.decode("utf-8", "replace"), rel, offset, limit))


def number_lines(text: str, rel: str, offset: int, limit: int) -> str:
    lines = text.splitlines()
    if not lines:
        return f"{rel}: empty file"
    if offset > len(lines):
        return f"{rel} has {len(lines)} lines; offset {offset} is past the end"
    out: list[str] = []
    size, last = 0, offset - 1
    for n in range(offset, min(len(lines), offset + limit - 1) + 1):
        line = lines[n - 1]
        if len(line) > LINE_MAX_CHARS:
            line = line[:LINE_MAX_CHARS] + f" [line cut: {len(line) - LINE_MAX_CHARS} more chars]"
        entry = f"{n:>6}\t{line}"
        if size + len(entry) > READ_MAX_CHARS and out:
            break
        out.append(entry)
        size += len(entry) + 1
        last = n
    if last < len(lines):
        out.append(f"[lines {offset}-{last} of {len(lines)}; read with offset={last + 1} for more]")
    return "\n".join(out)


@dataclass
class WriteTool:
    name: str = "write"
    description: str = "Write a whole file (created with its folders, or replaced). Prefer edit for small changes."
    input_schema: dict[str, Any] = field(default_factory=lambda: {
        "type": "object",
        "properties": {"path": _path_prop("File to write"),
                       "content": {"type": "string", "description": "The complete new content"}},
        "required": ["path", "content"]})
    read_only: bool = False

    def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        content = args.get("content")
        if not isinstance(content, str):
            return ToolResult("error: content must be a string", is_error=True)
        if len(content.encode("utf-8")) > WRITE_MAX_BYTES:
            return ToolResult(f"error: content is over {WRITE_MAX_BYTES} bytes", is_error=True)
        target = writable_path(ctx, args.get("path"), self.name)
        if isinstance(target, ToolResult):
            return target
        real, rel = target
        existed = real.exists()
        atomic_write_text(real, content)
        verb = "replaced" if existed else "created"
        return ToolResult(f"{verb} {rel} ({len(content.splitlines())} lines)", changed=[rel])


@dataclass
class EditTool:
    name: str = "edit"
    description: str = (
        "Replace an exact string in a file. `old_string` must occur exactly once (include surrounding "
        "lines to make it unique) unless `replace_all` is true.")
    input_schema: dict[str, Any] = field(default_factory=lambda: {
        "type": "object",
        "properties": {"path": _path_prop("File to edit"),
                       "old_string": {"type": "string", "description": "Exact text to replace"},
                       "new_string": {"type": "string", "description": "Replacement text"},
                       "replace_all": {"type": "boolean", "description": "Replace every occurrence"}},
        "required": ["path", "old_string", "new_string"]})
    read_only: bool = False

    def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        old, new = args.get("old_string"), args.get("new_string")
        if not isinstance(old, str) or not isinstance(new, str) or not old:
            return ToolResult("error: old_string (non-empty) and new_string must be strings", is_error=True)
        if old == new:
            return ToolResult("error: old_string and new_string are the same", is_error=True)
        target = writable_path(ctx, args.get("path"), self.name)
        if isinstance(target, ToolResult):
            return target
        real, rel = target
        if not real.exists():
            return ToolResult(f"error: {rel} does not exist", is_error=True)
        try:
            text = read_regular(real).decode("utf-8", "surrogateescape")
        except OSError as err:
            return ToolResult(f"error: cannot edit {rel}: {err}", is_error=True)
        count = text.count(old)
        if count == 0:
            return ToolResult(f"error: old_string not found in {rel}", is_error=True)
        if count > 1 and not args.get("replace_all"):
            lines = _match_lines(text, old)
            return ToolResult(f"error: old_string occurs {count} times in {rel} (lines {lines}); include more "
                              "context to make it unique, or set replace_all", is_error=True)
        atomic_write_bytes(real, text.replace(old, new).encode("utf-8", "surrogateescape"))
        return ToolResult(f"edited {rel}: {count} replacement{'s' if count > 1 else ''}", changed=[rel])


def _match_lines(text: str, needle: str, most: int = 10) -> str:
    found: list[str] = []
    start = 0
    while len(found) < most and (i := text.find(needle, start)) >= 0:
        found.append(str(text.count("\n", 0, i) + 1))
        start = i + 1
    return ", ".join(found)

