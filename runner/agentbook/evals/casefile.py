"""One YAML file holding a list of cases, read and changed a case at a time.

The cases are a block sequence under a key of the root mapping (`tests:` of a suite) or the root
itself (a case file of the split layout holding several cases). Reads cut a case's bytes out using
the index; an edit round-trips only that case with ruamel, splices it back, re-validates it and
writes the file atomically under a lock. Files the splice cannot handle safely (see `index.py`) take
a full ruamel round-trip instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentbook import yamlsafe
from agentbook.errors import FatalError
from agentbook.evals import state
from agentbook.evals.cases import (
    EditResult,
    Mutation,
    anchored,
    assert_types,
    check_case,
    ensure_id,
    own_copy,
    shared,
    unknown_id,
    write_bytes,
)
from agentbook.evals.index import (
    REF_PREFIX,
    CaseSpan,
    Loader,
    SuiteIndex,
    build_index,
    dedent_chunk,
    fill_ids,
)
from agentbook.evals.indexstore import IndexStore, Located, StatKey, stat_key
from agentbook.evals.rows import CaseInfo
from agentbook.evals.views import render_case
from agentbook.evals.yamlio import (
    Style,
    dump_all_rt,
    dump_rt,
    fit_style,
    fit_style_scored,
    like_original,
    load_all_rt,
    load_rt,
    to_plain,
)
from agentbook.fsutil import Piece, atomic_splice

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq


class CaseFile:
    """One YAML file holding a list of cases: under `seq_key` of the root mapping, or as the root."""

    def __init__(self, path: Path, seq_key: str | None) -> None:
        self.path = path
        self.seq_key = seq_key
        # the last whole read, keyed by the stat of the file it came from: a second call in the same
        # process (open_suite, then edit under the lock) skips reading it again
        self._memo: tuple[StatKey, bytes, SuiteIndex] | None = None
        self._store: IndexStore | None = None

    @property
    def store(self) -> IndexStore:
        if self._store is None:
            self._store = IndexStore(state.index_db(self.path))
        return self._store

    # -- reading -------------------------------------------------------------------------------
    @contextmanager
    def _opened(self) -> Iterator[tuple[int, os.stat_result]]:
        """The file open for reading and its stat: reads through this fd see one version of it."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as err:
            raise FatalError(f"cannot read {self.path}: {err.strerror or err}") from None
        try:
            st = os.fstat(fd)
            if st.st_size > yamlsafe.max_bytes():
                raise FatalError(f"suite file is {st.st_size:,} bytes, more than the limit of "
                                 f"{yamlsafe.max_bytes():,}", location=str(self.path),
                                 hint="split it (`agentbook eval split`) or raise AGENTBOOK_YAML_MAX_BYTES")
            yield fd, st
        finally:
            os.close(fd)

    def read(self) -> tuple[bytes, SuiteIndex]:
        """The whole file and its index (from the cache when it matches the file's stat)."""
        with self._opened() as (fd, st):
            key = stat_key(st)
            if self._memo is not None and self._memo[0] == key:
                return self._memo[1], self._memo[2]
            try:
                with open(fd, "rb", closefd=False) as fh:
                    data = fh.read()
            except OSError as err:
                raise FatalError(f"cannot read {self.path}: {err.strerror or err}") from None
        index = self.store.load(key)
        if index is None:
            index = build_index(data, where=str(self.path), seq_key=self.seq_key)
            index.mtime_ns = st.st_mtime_ns
            self.store.save(index, key, data)
        self._memo = (key, data, index)
        return data, index

    def index(self) -> SuiteIndex:
        """The index alone: from the cache without reading the file when it matches the file's stat."""
        with self._opened() as (_fd, st):
            key = stat_key(st)
        if self._memo is not None and self._memo[0] == key:
            return self._memo[2]
        cached = self.store.load(key)
        return cached if cached is not None else self.read()[1]

    def layout(self) -> tuple[str, list[str]]:
        """How the file holds its cases (`inline`, `files` or `none`) and the `file://` globs, from the
        cache's header when it matches: opening a suite reads neither the file nor the cases' rows."""
        with self._opened() as (_fd, st):
            key = stat_key(st)
        found = self.store.layout(key)
        if found is not None:
            return found
        index = self.index()
        return index.tests, index.globs

    def defaults(self) -> dict[str, Any] | None:
        """The file's `defaultTest` as the index keeps it (`SuiteIndex.defaults`), from the cache's header
        when it matches."""
        with self._opened() as (_fd, st):
            key = stat_key(st)
        found, value = self.store.defaults(key)
        return value if found else self.index().defaults

    def _one(self, case_id: str) -> _Fast | None:
        """One case's bytes and place, read through the cache without touching the rest of the file;
        None when the cache cannot answer (first touch, a file for the full round-trip, duplicates)."""
        with self._opened() as (fd, st):
            key = stat_key(st)
            found = self.store.locate(key, case_id)
            if found is None or found.count != 1:
                return None
            span = found.span
            chunk = os.pread(fd, span.end - span.start, span.start)
        if len(chunk) != span.end - span.start or not _dash_first(chunk, found.dash_col):
            self.store.drop()  # a cache that does not fit the bytes is not trusted again
            return None
        return _Fast(found, chunk, key, st.st_size)

    def infos(self) -> list[CaseInfo]:
        index = self.index()
        if index.fast:
            return [CaseInfo(c.id, c.description, c.asserts, c.size, f"{self.path}:{c.line}", c.explicit_id)
                    for c in index.cases]
        data, _index = self.read()
        return [self._info(cid, case, n) for n, (cid, case) in enumerate(self._slow_cases(data))]

    def _info(self, cid: str, case: Any, n: int) -> CaseInfo:
        asserts = [str(a["type"]) if "type" in a else f"{REF_PREFIX}{a['$ref']}" if "$ref" in a else "?"
                   for a in case.get("assert") or [] if isinstance(a, dict)]
        line = case.lc.line + 1 if hasattr(case, "lc") else 0
        size = len(dump_rt(case).encode())
        return CaseInfo(cid, str(case.get("description", "")), asserts, size, f"{self.path}:{line}",
                        "id" in case)

    def case_text(self, case_id: str) -> str:
        one = self._one(case_id)
        if one is not None:
            return dedent_chunk(one.chunk, one.found.dash_col)
        data, index = self.read()
        if index.fast:
            span = index.cases[self._locate(index, case_id)]
            return dedent_chunk(data[span.start:span.end], index.dash_col)
        from ruamel.yaml.comments import CommentedSeq

        _docs, seq, ids = self._slow_load(data)
        case = seq[self._locate_id(ids, case_id)]
        if _has_merge(case):  # as written it shows `<<:` and the anchor's copy, not what the case runs with
            return (f"# `<<:` merge keys resolved (line {case.lc.line + 1} writes them): the case as it runs\n"
                    + render_case(to_plain(case)))
        return dump_rt(CommentedSeq([case]))

    def get_case(self, case_id: str) -> dict[str, Any]:
        one = self._one(case_id)
        if one is not None:
            return self._parse_case(one.chunk, one.found.span, one.found.dash_col)
        data, index = self.read()
        if index.fast:
            span = index.cases[self._locate(index, case_id)]
            return self._parse_case(data[span.start:span.end], span, index.dash_col)
        _docs, seq, ids = self._slow_load(data)
        plain: dict[str, Any] = to_plain(seq[self._locate_id(ids, case_id)])
        return plain

    def _parse_case(self, chunk: bytes, span: CaseSpan, dash_col: int) -> dict[str, Any]:
        text = dedent_chunk(chunk, dash_col)
        value: dict[str, Any] = yamlsafe.load(text, str(self.path), loader=Loader, line_offset=span.line - 1,
                                                col_offset=dash_col)[0]
        return value

    def values(self) -> list[tuple[str, dict[str, Any]]]:
        """Every case, in file order, as (id, plain value); duplicates included."""
        data, index = self.read()
        if not index.fast:
            return [(cid, to_plain(c)) for cid, c in self._slow_cases(data)]
        root = yamlsafe.load(data, str(self.path), loader=Loader)
        seq = root if self.seq_key is None else (root or {}).get(self.seq_key)
        return [(c.id, v) for c, v in zip(index.cases, seq or [])]

    def ids(self) -> list[str]:
        data, index = self.read()
        if index.fast:
            return [c.id for c in index.cases]
        return [cid for cid, _ in self._slow_cases(data)]

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[tuple[bytes, SuiteIndex]]:
        with state.locked(self.path):
            yield self.read()

    def _cached(self, find: Callable[[], _Fast | None]) -> _Fast | None:
        """`find()` through the cache; on a miss the file is read and indexed once, then asked again."""
        one = find()
        if one is None:
            _data, index = self.read()
            one = find() if index.fast and index.cases else None
        return one

    def edit(self, case_id: str, mutate: Mutation) -> EditResult:
        with state.locked(self.path):
            one = self._cached(lambda: self._one(case_id))
            if one is not None and _indented_at_least(one.chunk, one.found.dash_col):
                return self._splice_edit(one, mutate)
            data, index = self.read()
            if index.fast:
                self._locate(index, case_id)  # an unknown or duplicate id is reported here
            return self._slow_edit(data, index, case_id, mutate)

    def add(self, case: CommentedMap, case_id: str) -> EditResult:
        with state.locked(self.path):
            last = self._cached(self._last)
            if last is not None:
                taken = self.store.has_id(case_id)
            else:
                data, index = self.read()
                taken = case_id in ([c.id for c in index.cases] if index.fast
                                    else [i for i, _ in self._slow_cases(data)])
            if taken:
                raise FatalError(f"duplicate id {case_id!r}: the suite already has a case with it",
                                 location=str(self.path), hint="pick another id or use `eval replace`")
            ensure_id(case, case_id)
            check_case(to_plain(case), f"{self.path} (new case {case_id})")
            if last is not None:
                return self._splice_append(last, case, case_id)
            data, index = self.read()
            return self._slow_add(data, index, case, case_id)

    def remove(self, case_id: str) -> EditResult:
        with state.locked(self.path):
            one = self._cached(lambda: self._one(case_id))
            if one is not None:
                span = one.found.span
                self._splice([(0, span.lead), (span.end, one.size - span.end)], one,
                             lambda new: self.store.removed(one.key, new, one.found))
                line = one.found.lead_line
                return EditResult(case_id, str(self.path), True, lines=(line, line),
                                  changed=[str(self.path)])
            data, index = self.read()
            if index.fast:
                self._locate(index, case_id)
            docs, seq, ids = self._slow_load(data)
            n = self._locate_id(ids, case_id)
            own_copy(seq[n])  # what other cases alias or merge of it keeps its anchor's name where it moves
            del seq[n]
            self._slow_write(data, docs)
            return EditResult(case_id, str(self.path), False, index.reason, changed=[str(self.path)])

    # -- the fast path: one case spliced in, the rest copied by the kernel ---------------------
    def _last(self) -> _Fast | None:
        """The last case (a new case copies its style) and the byte before the end of the list."""
        with self._opened() as (fd, st):
            key = stat_key(st)
            found = self.store.last(key)
            if found is None:
                return None
            span = found.span
            chunk = os.pread(fd, span.end - span.start, span.start)
            before = os.pread(fd, 1, found.items_end - 1) if found.items_end else b""
        if len(chunk) != span.end - span.start or not _dash_first(chunk, found.dash_col):
            self.store.drop()
            return None
        return _Fast(found, chunk, key, st.st_size, before)

    def _splice_edit(self, one: _Fast, mutate: Mutation) -> EditResult:
        span, dash_col = one.found.span, one.found.dash_col
        where = f"{self.path}:{span.line}"
        root, seq, style = self._load_chunk(one.chunk, where)
        case = seq[0]
        if not span.explicit_id:
            ensure_id(case, span.id)
        mutate(case, span.id)
        new_id = str(case.get("id", span.id))
        if new_id != span.id and self.store.has_id(new_id):
            raise FatalError(f"duplicate id {new_id!r}: another case already has it", location=str(self.path))
        chunk = self._dump_chunk(root, style, dash_col)
        if not one.chunk.endswith(b"\n"):
            chunk = chunk.rstrip(b"\n")
        value = _revalidate(chunk, dash_col, where)
        if chunk != one.chunk:
            self._splice([(0, span.start), chunk, (span.end, one.size - span.end)], one,
                         lambda new: self.store.replaced(one.key, new, one.found, chunk, new_id,
                                                         str(value.get("description", "")), assert_types(value)))
        return EditResult(new_id, str(self.path), True, lines=changed_lines(one.chunk, chunk, span.line),
                          changed=[str(self.path)] if chunk != one.chunk else [])

    def _splice_append(self, last: _Fast, case: CommentedMap, case_id: str) -> EditResult:
        root, seq, style = self._load_chunk(last.chunk, str(self.path))
        seq.clear()
        seq.append(case)
        chunk = self._dump_chunk(root, style, last.found.dash_col)
        value = _revalidate(chunk, last.found.dash_col, str(self.path))
        at = last.found.items_end
        prefix = b"" if at == 0 or last.before == b"\n" else b"\n"
        self._splice([(0, at), prefix + chunk, (at, last.size - at)], last,
                     lambda new: self.store.appended(last.key, new, prefix, chunk, case_id,
                                                     str(value.get("description", "")), assert_types(value)))
        line = last.found.span.line + last.chunk.count(b"\n") + len(prefix)
        return EditResult(case_id, str(self.path), True, changed=[str(self.path)],
                          lines=(line, line + chunk.count(b"\n") - 1))

    def _splice(self, pieces: list[Piece], one: _Fast, record: Callable[[StatKey], None]) -> None:
        """Write the file from `pieces` (kernel-copied ranges of the old file and new bytes), then tell
        the cache; nothing is cached before the write succeeds."""
        try:
            st = atomic_splice(self.path, pieces)
        except OSError as err:
            raise FatalError(f"cannot write {self.path}: {err.strerror or err}",
                             hint="the file on disk is unchanged") from None
        self._memo = None
        record(stat_key(st))

    def _load_chunk(self, chunk: bytes, where: str) -> tuple[Any, CommentedSeq, Style]:
        """Round-trip load one case's text inside a parent key, so nested lists keep their indent.

        ruamel has one sequence offset for the whole dump; a list at column 0 whose nested lists are
        offset by 2 is only reproducible after shifting the case right, so a few shifts are tried.
        The style is fitted on a skeleton of the case (block scalars cut to their first line): the
        indentation is the same, and a 100 KB captured log need not be dumped just to compare.
        """
        body = chunk.decode("utf-8")
        skeleton = _collapse_block_scalars(body)
        if skeleton != body:
            for pad in (0, 2, 4):
                text = self._wrap(skeleton, pad)
                style, diff = fit_style_scored(text, load_rt(text, where=where))
                if diff == 0:
                    root = load_rt(self._wrap(body, pad), where=where)
                    return root, root[self.seq_key or "tests"], style
        best: tuple[Any, CommentedSeq, Style] | None = None
        best_diff = -1
        for pad in (0, 2, 4):
            text = self._wrap(body, pad)
            root = load_rt(text, where=where)
            style, diff = fit_style_scored(text, root)
            if best is None or diff < best_diff:
                best, best_diff = (root, root[self.seq_key or "tests"], style), diff
            if diff == 0:
                break
        assert best is not None
        return best

    def _wrap(self, body: str, pad: int) -> str:
        shifted = body if not pad else "".join(
            (" " * pad + ln) if ln.strip() else ln for ln in body.splitlines(keepends=True))
        return f"{self.seq_key or 'tests'}:\n{shifted}"

    def _dump_chunk(self, root: Any, style: Style, dash_col: int) -> bytes:
        text = dump_rt(root, style).split("\n", 1)[1]
        return _reindent(text, dash_col)

    # -- the full round-trip -------------------------------------------------------------------
    def _slow_load(self, data: bytes) -> tuple[list[Any], CommentedSeq, list[str]]:
        docs = load_all_rt(data.decode("utf-8"), where=str(self.path))
        seq = self._seq_of(docs)
        ids = fill_ids([str(c["id"]) if isinstance(c, dict) and "id" in c else None for c in seq],
                       lambda n: to_plain(seq[n]))
        return docs, seq, ids

    def _seq_of(self, docs: list[Any]) -> CommentedSeq:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        for doc in docs:
            if self.seq_key is None and isinstance(doc, CommentedSeq):
                return doc
            if self.seq_key is not None and isinstance(doc, CommentedMap) and self.seq_key in doc:
                if doc[self.seq_key] is None:
                    doc[self.seq_key] = CommentedSeq()
                seq = doc[self.seq_key]
                if isinstance(seq, CommentedSeq):
                    return seq
        if self.seq_key is not None and docs and isinstance(docs[0], CommentedMap):
            docs[0][self.seq_key] = CommentedSeq()
            return docs[0][self.seq_key]
        raise FatalError(f"no case list in {self.path}", hint="a suite needs a `tests:` list")

    def _slow_cases(self, data: bytes) -> list[tuple[str, Any]]:
        _docs, seq, ids = self._slow_load(data)
        return list(zip(ids, seq))

    def _slow_edit(self, data: bytes, index: SuiteIndex, case_id: str, mutate: Mutation) -> EditResult:
        docs, seq, ids = self._slow_load(data)
        n = self._locate_id(ids, case_id)
        case = seq[n]
        if anchored(case) and shared(case, docs):  # other cases merge (`<<: *base`) or alias it: they
            seq[n] = case = own_copy(case)              # keep the original, this case changes alone
        ensure_id(case, case_id)
        mutate(case, case_id)
        new_id = str(case.get("id", case_id))
        if new_id != case_id and new_id in ids:
            raise FatalError(f"duplicate id {new_id!r}: another case already has it", location=str(self.path))
        check_case(to_plain(case), f"{self.path} (case {case_id})")
        self._slow_write(data, docs)
        return EditResult(new_id, str(self.path), False, index.reason or "case not indented like its list",
                          changed=[str(self.path)])

    def _slow_add(self, data: bytes, index: SuiteIndex, case: CommentedMap, case_id: str) -> EditResult:
        from ruamel.yaml.comments import CommentedMap

        docs = load_all_rt(data.decode("utf-8"), where=str(self.path)) if data.strip() else [CommentedMap()]
        seq = self._seq_of(docs)
        if seq.fa.flow_style():  # a new case in a `[...]` list is written `{...}` like its neighbours
            case.fa.set_flow_style()
        seq.append(case)
        self._slow_write(data, docs)
        return EditResult(case_id, str(self.path), False, index.reason or "empty case list",
                          changed=[str(self.path)])

    def _slow_write(self, data: bytes, docs: list[Any]) -> None:
        original = data.decode("utf-8")
        text = dump_all_rt(docs, fit_style(original, docs, multi=True)) if len(docs) > 1 else dump_rt(
            docs[0], fit_style(original, docs[0]))
        new = like_original(text, original).encode("utf-8")
        try:
            values = yamlsafe.load_all(new, str(self.path), loader=Loader)
        except FatalError as err:  # pragma: no cover - ruamel wrote something libyaml rejects
            raise FatalError(f"refusing to write {self.path}: the result does not parse ({err})") from None
        for doc in values:
            cases = doc if self.seq_key is None else (doc or {}).get(self.seq_key) if isinstance(doc, dict) \
                else None
            for n, value in enumerate(cases or []):
                if isinstance(value, dict):
                    check_case(value, f"{self.path} (case {n + 1})")
        write_bytes(self.path, new)

    # -- lookup --------------------------------------------------------------------------------
    def _locate(self, index: SuiteIndex, case_id: str) -> int:
        hits = index.find(case_id)
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise unknown_id(case_id, [c.id for c in index.cases], self.path)
        lines = ", ".join(str(index.cases[h].line) for h in hits)
        raise FatalError(f"duplicate id {case_id!r} (lines {lines})", location=str(self.path),
                         hint="give each case a unique id, then retry")

    def _locate_id(self, ids: list[str], case_id: str) -> int:
        hits = [n for n, i in enumerate(ids) if i == case_id]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise unknown_id(case_id, ids, self.path)
        raise FatalError(f"duplicate id {case_id!r} (cases {', '.join(str(h + 1) for h in hits)})",
                         location=str(self.path), hint="give each case a unique id, then retry")

    def header(self) -> dict[str, Any]:
        """The file without its cases, parsed: cheap on a big file because the cases are cut out."""
        data, index = self.read()
        if index.fast and index.cases:
            data = data[:index.items_start] + data[index.items_end:]
            docs = yamlsafe.load_all(data, str(self.path), loader=Loader)
        else:
            docs = [to_plain(d) for d in load_all_rt(data.decode("utf-8"), where=str(self.path))]
        for doc in docs:
            if isinstance(doc, dict):
                return {k: v for k, v in doc.items() if k != "tests"}
        return {}


@dataclass
class _Fast:
    """One case read through the cache: where it is, its bytes, and the file version they came from."""

    found: Located
    chunk: bytes
    key: StatKey
    size: int
    before: bytes = b""  # `_last` only: the byte before the end of the list


def _has_merge(node: Any) -> bool:
    """Whether a loaded case uses a `<<:` merge key anywhere (ruamel keeps the merged maps in `.merge`)."""
    if isinstance(node, dict):
        return bool(getattr(node, "merge", None)) or any(_has_merge(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_merge(v) for v in node)
    return False


def _dash_first(chunk: bytes, dash_col: int) -> bool:
    """Whether the chunk starts with its item's dash at `dash_col`: a cache that points elsewhere is stale."""
    return chunk[:dash_col] == b" " * dash_col and chunk[dash_col:dash_col + 1] == b"-"


_BLOCK_HEADER = re.compile(r"^( *)(?:- +)*([^\s#][^\n]*?):[ \t]+[|>][-+0-9]*[ \t]*(?:#.*)?$")


def _collapse_block_scalars(text: str) -> str:
    """`text` with every block scalar (`key: |`, `key: >-`) cut to its first content line."""
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        m = _BLOCK_HEADER.match(line)
        if m is None:
            continue
        key_col = line.index(m.group(2))
        kept = False
        while i < len(lines):
            nxt = lines[i]
            if nxt.strip() and len(nxt) - len(nxt.lstrip(" ")) <= key_col:
                break
            if not kept and nxt.strip():
                out.append(nxt)
                kept = True
            i += 1
    return "\n".join(out)


def changed_lines(old: bytes, new: bytes, first_line: int) -> tuple[int, int]:
    """First and last line of `new` (numbered from `first_line`) that differ from `old`; (0, 0) if none."""
    a, b = old.split(b"\n"), new.split(b"\n")
    if a == b:
        return 0, 0
    head = next(i for i, (x, y) in enumerate(zip([*a, None], [*b, None])) if x != y)
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return first_line + head, first_line + max(head, len(b) - tail - 1)


def _indented_at_least(chunk: bytes, col: int) -> bool:
    pad = b" " * col
    return all(not ln.strip() or ln.startswith(pad) for ln in chunk.split(b"\n"))


def _reindent(text: str, col: int) -> bytes:
    lines = text.split("\n")
    first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    have = len(first) - len(first.lstrip(" "))
    shift = col - have
    if shift > 0:
        lines = [(" " * shift + ln) if ln.strip() else ln for ln in lines]
    elif shift < 0:
        lines = [ln[-shift:] if ln.startswith(" " * -shift) else ln.lstrip(" ") for ln in lines]
    return "\n".join(lines).encode("utf-8")


def _revalidate(chunk: bytes, col: int, where: str) -> dict[str, Any]:
    """Parse the new case text on its own, as it will sit in the file, and check it against the schema."""
    try:
        value = yamlsafe.load(dedent_chunk(chunk, col), where, loader=Loader)
    except yamlsafe.Unparsable as err:  # pragma: no cover - ruamel wrote something libyaml rejects
        raise FatalError(f"refusing to write: the edited case does not parse ({err})", location=where) from None
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise FatalError("refusing to write: the edited case is not one mapping", location=where)
    check_case(value[0], where)
    case: dict[str, Any] = value[0]
    return case
