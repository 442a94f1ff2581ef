"""`export_trace(trace, out_dir) -> ExportSummary`: one trace as a folder of small text files.

The folder is built in a temporary sibling and renamed into place, so OUT is the old export or the
new one, never half of each; a re-export of the same trace gives the same bytes. Only regular files
and folders are created, with names the exporter builds (numbers plus slugs), so nothing from the
trace can point outside OUT.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import queue
import re
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError
from agentbook.fsutil import atomic_write_text

from .compact import write_group
from .errors_md import FINDINGS_FILE, errors_lines, findings_lines
from .findings import Finding, in_order, span_findings
from .layout import LAYOUTS, Layout, plan
from .model import SHARED_MIN, Message, Span, Trace, text_digest
from .names import one_line, slug
from .render import cut, fmt_ms, io_md, message_file_name, message_md, pretty_json, span_files
from .summary import kept_verbatim, readme_md
from .values import clean_text, norm_id

WRITE_THREADS = 4
MAX_PENDING = 1024  # queued batches (a span's files, or a compact file pair) before the renderer waits
MAX_PENDING_CHARS = 8 << 20  # ... or queued text: either bound keeps memory flat on huge traces
MARKER = ".agentbook-trace"  # marks a folder this exporter made (and may therefore replace)
CONTAINER_MARKER = ".agentbook-traces"  # marks a folder holding one export per trace of a file
# What an export may write, from the size of the trace file read. A trace is attacker-written, and a few
# bytes can name many files (a 139 KB Inspect log of 10,000 empty samples wrote 100k files, 392 MB; a 17 KB
# one reusing pooled messages 1M files, 4 GB). The real samples we have write at most 10x their size in
# bytes (a zipped .eval; text formats 1-8x) and 16 files per KB: the defaults allow 10x that, with floors
# so small files never come near them.
BYTES_PER_INPUT_BYTE, MIN_MAX_BYTES = 100, 256 << 20
INPUT_BYTES_PER_FILE, MIN_MAX_FILES = 10, 20_000
FILES_PER_TRACE = 7  # the least one trace's export writes: _Writer.tail's files


@dataclass
class Limits:
    """The most files and bytes one export (all its traces together) may write; counted before each
    file is queued, so a bound is never overshot by more than the file that crosses it."""

    max_files: int
    max_bytes: int
    files: int = 0
    bytes: int = 0

    @classmethod
    def for_input(cls, input_bytes: int, max_files: int | None = None, max_bytes: int | None = None) -> Limits:
        return cls(max_files if max_files is not None else max(MIN_MAX_FILES, input_bytes // INPUT_BYTES_PER_FILE),
                   max_bytes if max_bytes is not None else max(MIN_MAX_BYTES, input_bytes * BYTES_PER_INPUT_BYTE))

    source: str = "the trace"  # the file read, for the message

    def add(self, rel: str, files: int, text_bytes: int) -> None:
        self.files += files
        self.bytes += text_bytes
        if self.files > self.max_files:
            self._stop(rel, f"{self.files:,} files, more than the {self.max_files:,} allowed", "--max-files")
        if self.bytes > self.max_bytes:
            self._stop(rel, f"{self.bytes:,} bytes, more than the {self.max_bytes:,} allowed", "--max-bytes")

    def expect(self, files: int, why: str) -> None:
        """Refuse up front an export that will write at least `files` files (`why` says how that is counted)."""
        if self.files + files > self.max_files:
            raise FatalError(f"exporting {self.source} would write at least {files:,} files ({why}), more than the "
                             f"{self.max_files:,} allowed; nothing was written and OUT is unchanged",
                             hint="a trace can name far more than it holds; if this one is real, raise --max-files")

    def _stop(self, rel: str, reached: str, flag: str) -> None:
        raise FatalError(f"exporting {self.source} reached {reached} (at {one_line(rel, 120)}); stopped, the "
                         "partial export is removed and OUT is unchanged",
                         hint=f"a trace can name far more than it holds; if this one is real, raise {flag}")


def _size(text: str) -> int:
    """Bytes `text` takes in UTF-8 (no copy for the usual ASCII text)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


@dataclass
class ExportSummary:
    out_dir: str
    trace_id: str
    format: str
    spans: int = 0
    messages: int = 0
    tool_calls: int = 0
    tool_spans: int = 0
    errors: int = 0
    flagged: int = 0  # entries in errors.md
    orphans: int = 0
    problems: list[str] = field(default_factory=list)
    files: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Writer:
    def __init__(self, root: str, trace: Trace, layout: Layout, limits: Limits | None) -> None:
        self.root, self.trace, self.layout, self.limits = root, trace, layout, limits
        self.files = 0
        # File creation dominates export time on real disks and releases the GIL: a few threads
        # overlap it (_submit). Contents are decided here, in order, so the result does not depend on timing.
        self._pending: deque[tuple[Future[None], int]] = deque()
        self._pending_chars = 0
        self._batch: list[tuple[str, str, str | None, str]] = []
        self.shared = self._shared_prompts()

    def write(self, rel: str, text: str, cut_long: bool = True) -> None:
        """Add one file to the batch; long text is cut and its rest written beside it."""
        rest_name = _rest_name(os.path.basename(rel))
        head, rest = cut(text, rest_name) if cut_long else (text, None)
        if self.limits is not None:
            self.limits.add(rel, 1 if rest is None else 2, _size(head) + _size(rest or ""))
        self.files += 1 if rest is None else 2
        self._batch.append((os.path.join(self.root, rel), head, rest, rest_name))

    def flush(self) -> None:
        """Hand the batch (one span's files) to a writer thread; wait when too many are queued."""
        if not self._batch:
            return
        size = sum(len(head) + len(rest or "") for _, head, rest, _ in self._batch)
        while self._pending and (len(self._pending) >= MAX_PENDING or self._pending_chars + size > MAX_PENDING_CHARS):
            self._wait_oldest()
        self._pending.append((_submit(self._batch), size))
        self._pending_chars += size
        self._batch = []

    def _wait_oldest(self) -> None:
        future, size = self._pending.popleft()
        self._pending_chars -= size
        future.result()

    def write_lines(self, rel: str, lines: Iterable[str]) -> None:
        if self.limits is not None:
            self.limits.add(rel, 1, 0)
        with open(os.path.join(self.root, rel), "w", encoding="utf-8", newline="\n") as fh:
            for line in lines:
                if self.limits is not None:
                    self.limits.add(rel, 0, _size(line) + 1)
                fh.write(line + "\n")
        self.files += 1

    def close(self) -> None:
        """Wait for every queued write; the first failure (disk full, ...) is raised here."""
        try:
            self.flush()
            while self._pending:
                self._wait_oldest()
        finally:  # after a failure, this export's queued writes are dropped; the writers serve the next
            for future, _ in self._pending:
                future.cancel()
            for future, _ in self._pending:
                with contextlib.suppress(BaseException):
                    future.result()  # one already running finishes before the temp folder goes
            self._pending.clear()

    def _shared_prompts(self) -> dict[str, str]:
        """System prompts long enough and used by two or more spans: content digest -> prompts/ file."""
        seen: dict[str, int] = {}
        for _, span in self.layout.order:
            for key in span.system_prompt_keys():
                seen[key] = seen.get(key, 0) + 1
        repeated = [k for k, n in seen.items() if n > 1]
        return {k: f"prompts/system-{i:02d}-{k}.md" for i, k in enumerate(repeated, 1)}

    def span(self, span: Span) -> None:
        lay = self.layout
        path = lay.path[span]
        parent = self._parent_path(span)
        text, full = span_files(span, lay.number[span], path, parent)
        self.write(f"{path}/span.yaml", text)
        if full is not None:
            self.write(f"{path}/span.json", full, cut_long=False)
        shared = self._messages(span, path)
        for side, msgs, text_value in (("input", span.input_messages, span.input_text),
                                       ("output", span.output_messages, span.output_text)):
            if msgs or text_value or (side == "input" and span.prompt.get("template")):
                names = self._names(span, side)
                self.write(f"{path}/{side}.md", io_md(span, side, list(zip(names, msgs, strict=True)), shared))
        if span.tool_args is not None:
            self.write(f"{path}/tool/args.json", pretty_json(span.tool_args) + "\n")
        if span.tool_result is not None:
            self.write(f"{path}/tool/result.txt", clean_text(span.tool_result) + "\n")
        moved = lay.continued.get(span)
        if moved:
            lines = [f"- `{lay.path[c]}/`" for c in moved]
            self.write(f"{path}/continued.md", "# children of this span continue elsewhere\n\nThe folder path "
                       "got too long, so these children (and their subtrees) live at:\n\n" + "\n".join(lines) + "\n")
        self.findings += span_findings(span)
        span.release()
        self.flush()

    def _parent_path(self, span: Span) -> str | None:
        parent = self._by_id.get(span.parent_id or "")
        return self.layout.path.get(parent) if parent is not None else None

    def _names(self, span: Span, side: str) -> list[str]:
        offset = 0 if side == "input" else len(span.input_messages)
        msgs = span.input_messages if side == "input" else span.output_messages
        return [message_file_name(offset + i, m) for i, m in enumerate(msgs)]

    def _messages(self, span: Span, path: str) -> dict[int, str]:
        shared: dict[int, str] = {}
        for side in ("input", "output"):
            msgs = span.input_messages if side == "input" else span.output_messages
            for name, msg in zip(self._names(span, side), msgs, strict=True):
                index = int(name.split("-", 1)[0])
                ref = self._shared_ref(msg)
                if ref is not None:
                    shared[id(msg)] = ref
                self.write(f"{path}/messages/{name}", message_md(index, msg, side, ref))
        return shared

    def _shared_ref(self, msg: Message) -> str | None:
        if msg.role != "system" or len(msg.content) < SHARED_MIN:
            return None
        key = text_digest(msg.content)
        ref = self.shared.get(key)
        if ref is not None and key not in self._written:
            self._written.add(key)
            self.write(ref, f"# system prompt used by several spans ({len(msg.content)} chars)\n\n"
                       + clean_text(msg.content) + "\n")
        return ref

    def all(self) -> list[Finding]:
        # a span's parent folder (span.yaml names it); the compact layout has its parents already
        self._by_id = {} if self.layout.compact else {s.span_id: s for s in self.trace.spans}
        self._written: set[str] = set()
        self.findings: list[Finding] = []
        self.spans()
        findings = in_order(self.findings)
        self.tail(findings)
        return findings

    def spans(self) -> None:
        if self.layout.compact:
            for head, members in self.layout.groups:
                write_group(self, head, members)
            return
        for _, span in self.layout.order:
            self.span(span)

    def tail(self, findings: list[Finding]) -> None:
        """The files at the top of the export (written last: they point at everything else)."""
        # Index files are never cut: they are what one greps to find everything else.
        self.write_lines("tree.txt", tree_lines(self.trace, self.layout, findings))
        self.write_lines("index.tsv", index_lines(self.layout))
        self.write_lines("errors.md", errors_lines(self.trace, self.layout, findings))
        self.write_lines(FINDINGS_FILE, findings_lines(self.layout, findings))
        self.write("README.md", readme_md(self.trace, self.layout, findings, sorted(self.shared.values())))
        self.write("trace.json", cut_long=False, text=json.dumps({
            "trace_id": self.trace.trace_id, "format": self.trace.format, "name": self.trace.name,
            "layout": "compact" if self.layout.compact else "folders", "counts": self.trace.counts(),
            "problems": self.trace.problems, "kept_verbatim": kept_verbatim(self.trace),
            "metadata": self.trace.metadata}, indent=2, ensure_ascii=False, default=str) + "\n")
        self.write(MARKER, f"agentbook trace export of {self.trace.trace_id}\n")


_writers: tuple[int, queue.SimpleQueue[tuple[Future[None], list[Any]]]] | None = None
_writers_lock = threading.Lock()


def _submit(batch: list[tuple[str, str, str | None, str]]) -> Future[None]:
    """Queue one batch for the writer threads: WRITE_THREADS per process, shared by every export (an
    import of 60 traces started and joined 240 threads when each export had its own pool). Daemon
    threads: an export waits for its own writes, so none is pending when the process ends, and an idle
    writer must not hold up an exit (the warm worker's child joins every other thread before its own).
    A forked child starts its own: the parent's threads do not exist there."""
    global _writers
    with _writers_lock:
        if _writers is None or _writers[0] != os.getpid():
            jobs: queue.SimpleQueue[tuple[Future[None], list[Any]]] = queue.SimpleQueue()
            for n in range(WRITE_THREADS):
                threading.Thread(target=_write_loop, args=(jobs,), name=f"trace-export-{n}", daemon=True).start()
            _writers = (os.getpid(), jobs)
        future: Future[None] = Future()
        _writers[1].put((future, batch))
    return future


def _write_loop(jobs: queue.SimpleQueue[tuple[Future[None], list[Any]]]) -> None:
    while True:
        future, batch = jobs.get()
        if not future.set_running_or_notify_cancel():
            continue  # cancelled: its export failed and is gone
        try:
            _put_all(batch)
        except BaseException as err:  # noqa: BLE001 -- handed to the export that waits for it
            future.set_exception(err)
        else:
            future.set_result(None)


def _put_all(batch: list[tuple[str, str, str | None, str]]) -> None:
    made: set[str] = set()
    for full, head, rest, rest_name in batch:
        folder = os.path.dirname(full)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        with open(full, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(head)
        if rest is not None:
            with open(os.path.join(folder, rest_name), "w", encoding="utf-8", newline="\n") as fh:
                fh.write(rest)


def _rest_name(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.rest.{ext}" if dot and stem else f"{name}.rest"


def tree_lines(trace: Trace, layout: Layout, findings: list[Finding]) -> Iterator[str]:
    flagged = {id(f.span) for f in findings}
    where = ("File and line of number N: grep -rn '^## N ' --include='spans-*.md' ." if layout.compact
             else "Folder of number N: grep -P '(^|/)N-' index.tsv")
    yield (f"# {len(layout.order)} spans of trace {trace.trace_id}. Columns: number kind name [status] "
           f"duration tokens. '!!' = listed in errors.md. {where}")
    orphan_ids = {id(s) for s in trace.orphans}
    for depth, span in layout.order:
        if id(span) in orphan_ids:
            yield "_orphans/ (spans whose parent could not be placed; see errors.md)"
        status = span.status.upper() if span.status == "error" else span.status
        tokens = f"{span.total_tokens} tok" if span.total_tokens is not None else "-"
        mark = "!! " if id(span) in flagged else ""
        yield (f"{'  ' * depth}{mark}{layout.number[span]:0{layout.width}d} {span.kind} "
               f"{one_line(clean_text(span.name), 80)} [{status}] {fmt_ms(span.duration_ms)} {tokens}")


def index_lines(layout: Layout) -> Iterator[str]:
    yield "path\tkind\tname\tstatus\ttokens\tms\tspan_id"
    for _, span in layout.order:
        ms = f"{span.duration_ms:.1f}" if span.duration_ms is not None else ""
        tokens = "" if span.total_tokens is None else str(span.total_tokens)
        yield "\t".join([layout.ref(span), span.kind, one_line(clean_text(span.name), 120),
                         span.status, tokens, ms, one_line(clean_text(span.span_id), 80)])


def _prepare(out: Path) -> None:
    if "\x00" in str(out):
        raise FatalError(f"{str(out)!r}: a folder name cannot contain a NUL byte")
    if out.is_symlink():
        raise FatalError(f"{out}: is a symlink; refusing to export through it", hint="pass a real folder path")
    if out.exists() and not out.is_dir():
        raise FatalError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not ((out / MARKER).is_file() or (out / CONTAINER_MARKER).is_file()):
        raise FatalError(f"{out}: exists, is not empty and is not a trace export; refusing to overwrite it",
                         hint="pick a new folder, or remove this one")
    out.parent.mkdir(parents=True, exist_ok=True)


def export_trace(trace: Trace, out_dir: Path | str, layout_name: str = "auto",
                 limits: Limits | None = None) -> ExportSummary:
    """Write `trace` as a folder at `out_dir` (replacing an earlier export there) and count what went in.

    `layout_name`: `folders` (a folder per span), `compact` (a file per agent subtree), or `auto`
    (compact above `layout.COMPACT_MIN` spans). `limits`: the most it may write (FatalError past it)."""
    out = Path(out_dir)
    _prepare(out)
    with _locked(out):
        return _export_one(trace, out, layout_name, limits)


def _export_one(trace: Trace, out: Path, layout_name: str, limits: Limits | None) -> ExportSummary:
    _check_layout(layout_name)
    _prepare(out)
    _remove_stale(out)
    tmp = tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent)
    try:
        summary = _write_trace(trace, Path(tmp), layout_name, limits)
        _swap(Path(tmp), out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary.out_dir = str(out)
    return summary


def _check_layout(layout_name: str) -> None:
    if layout_name not in LAYOUTS:
        raise FatalError(f"unknown layout {layout_name!r}", hint="use one of: " + ", ".join(LAYOUTS))


def _write_trace(trace: Trace, folder: Path, layout_name: str, limits: Limits | None) -> ExportSummary:
    """Write `trace` into `folder`, an empty folder of this export's own (nothing to check or swap)."""
    layout = plan(trace, layout_name)
    writer = _Writer(str(folder), trace, layout, limits)
    try:
        findings = writer.all()
    finally:
        writer.close()
    counts = trace.counts()
    return ExportSummary(out_dir=str(folder), trace_id=trace.trace_id, format=trace.format, spans=counts["spans"],
                         messages=counts["messages"], tool_calls=counts["tool_calls"],
                         tool_spans=counts["tool_spans"], errors=counts["errors"], flagged=len(findings),
                         orphans=len(trace.orphans), problems=list(trace.problems), files=writer.files)


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold a lock beside OUT while exporting: two exports swapping OUT at once raced (one renamed away
    the folder the other was renaming, FileNotFoundError). The lock file is removed after; one that was
    removed while we waited for it is not the lock any more, so it counts as held."""
    lock = out.parent / f".{out.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            now = os.stat(lock, follow_symlinks=False)
        except (BlockingIOError, FileNotFoundError):
            now = None
        if now is None or (now.st_dev, now.st_ino) != (os.fstat(fd).st_dev, os.fstat(fd).st_ino):
            raise FatalError(f"{out}: another trace export is writing this folder now",
                             hint="wait for it to finish, or export to another folder")
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.unlink(lock)
    finally:
        os.close(fd)


def _remove_stale(out: Path) -> None:
    """Temporary folders left by an export that was killed (its process is gone) are removed."""
    leftovers = [p for kind in ("tmp", "old") for p in out.parent.glob(f".{glob.escape(out.name)}.{kind}-*-*")]
    for leftover in leftovers:
        pid = leftover.name.rsplit(".", 1)[-1].split("-")[1]
        if pid.isdigit() and not _alive(int(pid)) and leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap(new: Path, out: Path) -> None:
    os.chmod(new, 0o755)
    if not out.exists():
        os.rename(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
    os.rename(out, old / "x")
    try:
        os.rename(new, out)
    except OSError:
        os.rename(old / "x", out)
        raise
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(old)



def pick_traces(traces: list[Trace], trace_id: str | None) -> list[Trace]:
    """All traces, or the one whose id is `trace_id` (a clear error listing the ids otherwise)."""
    if trace_id is None:
        return traces
    wanted = {trace_id, norm_id(trace_id, 32)}
    if re.fullmatch(r"[0-9a-fA-F]{1,32}", trace_id):  # hex ids may be given without leading zeros
        wanted.add(trace_id.lower().zfill(32))
    chosen = [t for t in traces if t.trace_id in wanted]
    if not chosen:
        ids = ", ".join(one_line(t.trace_id, 80) for t in traces[:10]) + (" ..." if len(traces) > 10 else "")
        raise FatalError(f"no trace with id {trace_id!r} in this file", hint=f"it holds: {ids}")
    return chosen


def export_many(traces: list[Trace], out_dir: Path | str, layout_name: str = "auto",
                limits: Limits | None = None) -> list[ExportSummary]:
    """One trace: export it at `out_dir`. Several: `out_dir/NN-<trace id>/` each, plus a README listing them.

    Either way OUT is built beside itself and swapped in whole, replacing an earlier export of either kind.
    `limits` bound all the traces together.
    """
    out = Path(out_dir)
    _prepare(out)
    with _locked(out):
        if len(traces) == 1:
            return [_export_one(traces[0], out, layout_name, limits)]
        return _export_all(traces, out, layout_name, limits)


def _export_all(traces: list[Trace], out: Path, layout_name: str, limits: Limits | None) -> list[ExportSummary]:
    _check_layout(layout_name)
    if limits is not None:  # refused before anything is written: 10,000 tiny traces wrote 25,901 files first
        limits.expect(len(traces) * FILES_PER_TRACE, f"{len(traces):,} traces, {FILES_PER_TRACE} files each")
    _remove_stale(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    try:
        summaries = _export_each(traces, tmp, layout_name, limits)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for summary in summaries:
        summary.out_dir = str(out / Path(summary.out_dir).name)
    return summaries


def _export_each(traces: list[Trace], root: Path, layout_name: str, limits: Limits | None) -> list[ExportSummary]:
    width = max(2, len(str(len(traces))))
    summaries = []
    lines = [f"# {len(traces)} traces", "", ("Each folder is one trace exported by `agentbook trace export`; "
             "start with its README.md."), "", "| folder | trace id | spans | failed | name |", "|---|---|---|---|---|"]
    for n, trace in enumerate(traces, 1):
        name = f"{n:0{width}d}-{slug(trace.trace_id, 32, 'trace')}"
        # straight into the export's own temporary folder, swapped in whole at the end: each trace checking
        # its folder's siblings for stale exports (a glob of a growing folder) made 10,000 traces quadratic
        os.mkdir(root / name)
        os.chmod(root / name, 0o755)  # as a swapped-in folder has it
        summary = _write_trace(trace, root / name, layout_name, limits)
        summaries.append(summary)
        lines.append(f"| `{name}/` | {one_line(clean_text(trace.trace_id), 40)} | {summary.spans} | "
                     f"{summary.errors} | {one_line(clean_text(trace.name), 60).replace('|', '/')} |")
    atomic_write_text(root / "README.md", "\n".join(lines) + "\n")
    atomic_write_text(root / CONTAINER_MARKER, f"{len(traces)} trace exports\n")
    return summaries
