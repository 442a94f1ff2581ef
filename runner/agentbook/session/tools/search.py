"""Search tools: `glob` (find files by path pattern) and `grep` (regex over file contents), both bounded.

Both run on the session's event loop and hand it back every few milliseconds of walking, so a search
over a big tree neither stalls the other sessions nor pays a worker thread's GIL hand-offs per file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.session.paths import PathRefused, glob_regex, relative, resolve_in_root
from agentbook.session.tools import ToolContext, ToolResult, grep_worker

GLOB_MAX = 200
GREP_MAX = 100
GREP_LINE_MAX = 300
GREP_FILE_MAX_BYTES = 2_000_000
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache"}
SLICE_SECONDS = 0.004  # longest stretch a walk keeps the event loop
WORKER = Path(grep_worker.__file__)
# a pattern of plain characters only: it matches in time linear in the line, whatever the file says
LITERAL = re.compile(r"[A-Za-z0-9_ \-/:=,;'\"#@<>%!&~`]+")


async def paced(items: Iterator[Path]) -> AsyncIterator[Path]:
    """`items`, yielding to the event loop whenever a slice of work (the caller's included) is used up."""
    deadline = time.monotonic() + SLICE_SECONDS
    for item in items:
        yield item
        if time.monotonic() > deadline:
            await asyncio.sleep(0)
            deadline = time.monotonic() + SLICE_SECONDS


def walk_files(root: Path, start: Path) -> Iterator[Path]:
    """Regular files under `start` in sorted order, not entering symlinked folders or files that lead
    out; fifos, sockets and devices are left out (reading one could block the session for ever)."""
    if _regular(start):
        yield start
        return
    if not start.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink():
                try:
                    path = resolve_in_root(root, str(path))
                except PathRefused:
                    continue
            if not _regular(path):
                continue
            yield path


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _start(ctx: ToolContext, raw: object) -> Path | ToolResult:
    try:
        start = resolve_in_root(ctx.root, raw or ".")
    except PathRefused as err:
        return ToolResult(f"error: {err}", is_error=True)
    if not start.exists():
        return ToolResult(f"error: {relative(ctx.root, start)} does not exist", is_error=True)
    return start


@dataclass
class GlobTool:
    name: str = "glob"
    description: str = (
        "List files whose path (relative to the root) matches a glob: `**` spans folders, `*` stays in "
        "one name, e.g. `**/*.py` or `evals/*/cases/*.yaml`. Sorted, at most 200 shown.")
    input_schema: dict[str, Any] = field(default_factory=lambda: {
        "type": "object",
        "properties": {"pattern": {"type": "string", "description": "Glob, relative to the root"},
                       "path": {"type": "string", "description": "Folder to search (default: the root)"}},
        "required": ["pattern"]})
    read_only: bool = True

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        pattern = args.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            return ToolResult("error: pattern must be a non-empty string", is_error=True)
        start = _start(ctx, args.get("path"))
        if isinstance(start, ToolResult):
            return start
        rx = glob_regex(pattern.removeprefix("./"))
        base = relative(ctx.root, start)
        hits = []
        async for path in paced(walk_files(ctx.root, start)):
            rel = relative(ctx.root, path)
            sub = rel if base == "." else rel[len(base) + 1:]
            if rx.fullmatch(rel) or rx.fullmatch(sub):
                hits.append(rel)
        if not hits:
            return ToolResult(f"no files match {pattern!r}")
        more = len(hits) - GLOB_MAX
        tail = [f"[{more} more files; narrow the pattern or pass a path]"] if more > 0 else []
        return ToolResult("\n".join(hits[:GLOB_MAX] + tail))


@dataclass
class GrepTool:
    name: str = "grep"
    description: str = (
        "Search file contents with a regular expression (Python syntax). Prints `path:line:text` per "
        "match (or only paths with files_only), at most 100; `offset` skips matches to page on.")
    input_schema: dict[str, Any] = field(default_factory=lambda: {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Regular expression"},
            "path": {"type": "string", "description": "File or folder to search (default: the root)"},
            "glob": {"type": "string", "description": "Only files whose path matches this glob"},
            "ignore_case": {"type": "boolean"},
            "files_only": {"type": "boolean", "description": "List matching files, not lines"},
            "offset": {"type": "integer", "minimum": 0, "description": "Skip this many matches"}},
        "required": ["pattern"]})
    read_only: bool = True

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            rx = re.compile(str(args.get("pattern") or ""), re.IGNORECASE if args.get("ignore_case") else 0)
        except re.error as err:
            return ToolResult(f"error: bad regular expression: {err}", is_error=True)
        start = _start(ctx, args.get("path"))
        if isinstance(start, ToolResult):
            return start
        name_rx = glob_regex(str(args["glob"])) if args.get("glob") else None
        offset = int(args.get("offset") or 0)
        files: list[list[str]] = []
        async for path in paced(walk_files(ctx.root, start)):
            rel = relative(ctx.root, path)
            if name_rx is None or name_rx.fullmatch(rel) or name_rx.fullmatch(path.name):
                files.append([str(path), rel])
        job = {"pattern": rx.pattern, "ignore_case": bool(args.get("ignore_case")), "offset": offset,
               "files_only": bool(args.get("files_only")), "max": GREP_MAX, "line_max": GREP_LINE_MAX,
               "file_max": GREP_FILE_MAX_BYTES, "files": files}
        if LITERAL.fullmatch(rx.pattern):  # no operator, so no backtracking: a thread is enough (and 10x cheaper)
            found: dict[str, Any] | ToolResult = await asyncio.to_thread(grep_worker.search, job)
        else:
            found = await _match_apart(job, ctx.limits.tool_seconds)
        if isinstance(found, ToolResult):
            return found
        return ToolResult(_grep_report(found["shown"], found["total"], offset, str(args.get("pattern"))))


async def _match_apart(job: dict[str, Any], seconds: float) -> dict[str, Any] | ToolResult:
    """`job` matched by grep_worker.py in a process of its own, killed after `seconds` (or when the call
    is abandoned): a pattern that backtracks catastrophically holds the GIL, and in this process it
    froze every session on the loop, their clocks included."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-S", str(WORKER), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={})
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(job).encode()), seconds)
    except TimeoutError:
        return ToolResult(f"error: grep stopped after {seconds:g}s: the pattern {job['pattern'][:80]!r} backtracks "
                          "too much on these files (nested repeats like (a+)+); simplify it", is_error=True)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        return ToolResult(f"error: grep failed: {err.decode('utf-8', 'replace').strip()[-300:]}", is_error=True)
    found: dict[str, Any] = json.loads(out)
    return found


def _grep_report(shown: list[str], total: int, offset: int, pattern: str) -> str:
    if total == 0:
        return f"no matches for {pattern!r}"
    if not shown:
        return f"{total} matches; offset {offset} is past the end"
    last = offset + len(shown)
    if last < total:
        shown.append(f"[{total - last} more matches; grep again with offset={last}, or narrow path/glob]")
    return "\n".join(shown)

