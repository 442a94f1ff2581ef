"""The suite index cache, in SQLite: where each case of a suite file lives, kept across processes.

Validated by the file's stat (size, mtime_ns, ctime_ns, inode, device), not by hashing its bytes:
ctime cannot be set from user space, so a file changed by anything but agentbook misses the cache.

Cases are stored as lengths, not offsets (`span`: bytes from the case's leading comments to its end;
`pre`: bytes of those comments; the same two in newlines), in file order (`ord`, gaps allowed). A
case's offset is the sum of the spans before it, which SQLite adds up in C; so an edit that changes
one case's length rewrites one row, not every row after it, and a removal deletes one. The file and
the cache are changed in that order and the cache's key is the file's new stat, so a crash between
the two leaves a cache that no longer matches and is rebuilt.

What one `eval edit` reads and writes of the cache is kept small against the suite (the bench holds it
under 1% of a 5 MB file): `blocks` holds the sums of each run of BLOCK spans, so a case's offset is the
sum of the blocks before its own plus the spans before it in its block (two short reads, not a scan of
every span row), and the pages are PAGE bytes, since SQLite reads and writes (and checkpoints from its
write-ahead log) whole pages and an edit touches about a dozen of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from agentbook.evals.rows import CaseSpan, SuiteIndex
from agentbook.records import Record
from agentbook.sqlitecache import Deadline, connect

TYPE_CHECKING = False  # typing's own constant would import `typing`, which `eval list` does not need
if TYPE_CHECKING:
    from typing import Any

SCHEMA = 4  # 2: assertions given by $ref are indexed (as "$ref:POINTER"); 3: blocks of span sums, PAGE pages;
# 4: the suite's defaultTest (`meta.defaults`)
BLOCK = 32  # spans per row of `blocks`
PAGE = 1024
StatKey = tuple[int, int, int, int, int]
# An index kept in this process's memory only: a gate's (`state.index_db`), which no file of the gate's jail
# can hold, since the code the gate runs writes every folder the gate's own commands do.
MEMORY = Path(":memory:")
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (one INTEGER PRIMARY KEY CHECK (one = 0), schema INTEGER, size INTEGER,
  mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER, dev INTEGER, tests TEXT, globs TEXT, fast INTEGER,
  reason TEXT, dash_col INTEGER, items_start INTEGER, items_line INTEGER, defaults TEXT);
CREATE TABLE IF NOT EXISTS spans (ord INTEGER PRIMARY KEY, span INTEGER, pre INTEGER, nl_span INTEGER,
  nl_pre INTEGER);
CREATE TABLE IF NOT EXISTS blocks (blk INTEGER PRIMARY KEY, span INTEGER, nl_span INTEGER);
CREATE TABLE IF NOT EXISTS cases (ord INTEGER PRIMARY KEY, id TEXT, explicit INTEGER, description TEXT,
  asserts TEXT);
CREATE INDEX IF NOT EXISTS cases_id ON cases (id);
"""
# a block's sums follow its spans: before a span row changes (the case's new dash-on bytes and newlines,
# its ord, its block), before it is deleted (its ord, its block), after the last one is inserted
_BLOCK_REPLACED = ("UPDATE blocks SET (span, nl_span) = (SELECT blocks.span + s.pre + ? - s.span, "
                   "blocks.nl_span + s.nl_pre + ? - s.nl_span FROM spans s WHERE s.ord = ?) WHERE blk = ?")
_BLOCK_REMOVED = ("UPDATE blocks SET (span, nl_span) = (SELECT blocks.span - s.span, blocks.nl_span - s.nl_span "
                  "FROM spans s WHERE s.ord = ?) WHERE blk = ?")
_BLOCK_APPENDED = (f"INSERT INTO blocks SELECT ord / {BLOCK}, span, nl_span FROM spans WHERE ord = "
                   "(SELECT max(ord) FROM spans) ON CONFLICT (blk) DO UPDATE SET span = blocks.span + excluded.span, "
                   "nl_span = blocks.nl_span + excluded.nl_span")


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class Located(Record):
    """One case found by id: its place in the order and its absolute span, plus what an edit needs."""

    __slots__ = ("count", "dash_col", "items_end", "lead_line", "ord", "span")

    def __init__(self, ord: int, span: CaseSpan, dash_col: int, items_end: int, count: int,
                 lead_line: int) -> None:
        self.ord = ord
        self.span = span
        self.dash_col = dash_col
        self.items_end = items_end
        self.count = count  # cases with this id (more than one: a duplicate the caller reports)
        self.lead_line = lead_line  # 1-based line where the case's leading comments (or its dash) start


def _index(row: Any, rows: list[Any]) -> SuiteIndex:
    pos, line = row[11], row[12]
    cases = []
    for span, pre, nl_span, nl_pre, cid, explicit, description, asserts in rows:
        cases.append(CaseSpan(cid, bool(explicit), pos, pos + pre, pos + span, line + nl_pre, description,
                              json.loads(asserts)))
        pos, line = pos + span, line + nl_span
    return SuiteIndex(size=row[1], mtime_ns=row[2], digest="", tests=row[6], globs=json.loads(row[7]),
                      fast=bool(row[8]), reason=row[9], dash_col=row[10], items_start=row[11],
                      items_end=pos if cases else row[11], cases=cases, defaults=json.loads(row[13]))


class IndexStore:
    """One suite file's index in `db` (a cache: any failure to use it means "rebuild", never an error)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._conn: sqlite3.Connection | None = None
        self._deadline = Deadline()

    def _connect(self) -> sqlite3.Connection:
        """The connection, its deadline started afresh: each use of the store (a load, a save, an edit's
        update) starts here once, and none may run past the deadline (a file the agent wrote: sqlitecache)."""
        self._deadline.start()
        if self._conn is None:
            if self.db != MEMORY:
                self.db.parent.mkdir(parents=True, exist_ok=True)
                conn = connect(self.db, self._deadline)
            else:
                conn = sqlite3.connect(str(self.db), timeout=30, isolation_level=None)
            conn.execute(f"PRAGMA page_size={PAGE}")  # takes effect only on a new file (see save)
            # WAL: a commit is atomic without rewriting the file; NORMAL: no fsync per commit (a commit
            # lost with the power leaves a cache whose key no longer matches the file: rebuilt)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_TABLES)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _meta(self, key: StatKey) -> tuple[int, int, int, int] | None:
        """(fast, dash_col, items_start, items_line) when the cache holds this version of the file."""
        row = self._connect().execute(
            "SELECT schema, size, mtime_ns, ctime_ns, ino, dev, fast, dash_col, items_start, items_line "
            "FROM meta").fetchone()
        if row is None or row[0] != SCHEMA or tuple(row[1:6]) != key:
            return None
        return row[6], row[7], row[8], row[9]

    # -- whole index ---------------------------------------------------------------------------
    def load(self, key: StatKey) -> SuiteIndex | None:
        """The whole index of the file with this stat, or None (no cache, another version, unreadable)."""
        try:
            conn = self._connect()
            row = conn.execute("SELECT schema, size, mtime_ns, ctime_ns, ino, dev, tests, globs, fast, reason, "
                               "dash_col, items_start, items_line, defaults FROM meta").fetchone()
            if row is None or row[0] != SCHEMA or tuple(row[1:6]) != key:
                return None
            rows = conn.execute("SELECT s.span, s.pre, s.nl_span, s.nl_pre, c.id, c.explicit, c.description, "
                                "c.asserts FROM spans s JOIN cases c USING (ord) ORDER BY s.ord").fetchall()
        except (sqlite3.Error, OSError):
            return None
        try:
            return _index(row, rows)
        except (ValueError, TypeError, RecursionError):  # rows the agent may have written: rebuilt
            return None

    def save(self, index: SuiteIndex, key: StatKey, data: bytes) -> None:
        """Replace the cache with `index` of `data`, the bytes of the file with stat `key`."""
        first = index.cases[0].lead if index.cases else index.items_start
        items_line = data.count(b"\n", 0, first) + 1
        spans = [(n, c.end - c.lead, c.start - c.lead, data.count(b"\n", c.lead, c.end),
                  data.count(b"\n", c.lead, c.start)) for n, c in enumerate(index.cases)]
        cases = [(n, c.id, int(c.explicit_id), c.description, json.dumps(c.asserts))
                 for n, c in enumerate(index.cases)]
        blocks: dict[int, list[int]] = {}
        for n, span, _pre, nl_span, _nl_pre in spans:
            total = blocks.setdefault(n // BLOCK, [0, 0])
            total[0] += span
            total[1] += nl_span
        try:
            conn = self._connect()
            columns = {row[1] for row in conn.execute("PRAGMA table_info(meta)")}
            if conn.execute("PRAGMA page_size").fetchone()[0] != PAGE or "defaults" not in columns:
                self.drop()  # a cache of an older layout (other pages, fewer columns): started afresh
            with self._write() as conn:
                conn.execute("DELETE FROM meta")
                conn.execute("DELETE FROM spans")
                conn.execute("DELETE FROM blocks")
                conn.execute("DELETE FROM cases")
                conn.execute("INSERT INTO meta VALUES (0,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             (SCHEMA, *key, index.tests, json.dumps(index.globs), int(index.fast), index.reason,
                              index.dash_col, first, items_line, json.dumps(index.defaults)))
                conn.executemany("INSERT INTO spans VALUES (?,?,?,?,?)", spans)
                conn.executemany("INSERT INTO blocks VALUES (?,?,?)", [(b, *t) for b, t in blocks.items()])
                conn.executemany("INSERT INTO cases VALUES (?,?,?,?,?)", cases)
        except (sqlite3.Error, OSError):
            self.drop()  # only a cache: the next read rebuilds it

    def drop(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm") if self.db != MEMORY else ():
            with contextlib.suppress(OSError):
                os.unlink(f"{self.db}{suffix}")

    def layout(self, key: StatKey) -> tuple[str, list[str]] | None:
        """(`tests` kind, file globs) of the file with this stat, without reading the cases' rows."""
        try:
            row = self._connect().execute(
                "SELECT schema, size, mtime_ns, ctime_ns, ino, dev, tests, globs FROM meta").fetchone()
        except (sqlite3.Error, OSError):
            return None
        if row is None or row[0] != SCHEMA or tuple(row[1:6]) != key:
            return None
        return row[6], json.loads(row[7])

    def defaults(self, key: StatKey) -> tuple[bool, dict[str, Any] | None]:
        """(found, the suite's `defaultTest` as `SuiteIndex.defaults` keeps it) without reading the rows."""
        try:
            row = self._connect().execute("SELECT schema, size, mtime_ns, ctime_ns, ino, dev, defaults FROM meta").fetchone()
        except (sqlite3.Error, OSError):
            return False, None
        if row is None or row[0] != SCHEMA or tuple(row[1:6]) != key:
            return False, None
        return True, json.loads(row[6])

    # -- one case ------------------------------------------------------------------------------
    def locate(self, key: StatKey, case_id: str) -> Located | None:
        """The case with this id in the file with stat `key`, found without reading the others' rows
        beyond their lengths; None when the cache cannot answer (miss, slow-path file, no such id)."""
        try:
            meta = self._meta(key)
            if meta is None or not meta[0]:
                return None
            conn = self._connect()
            hits = conn.execute("SELECT ord, explicit, description, asserts FROM cases WHERE id = ? ORDER BY ord",
                                (case_id,)).fetchall()
            if not hits:
                return None
            ord_, explicit, description, asserts = hits[0]
            blk = ord_ // BLOCK
            before, nl_before, after = conn.execute(
                "SELECT coalesce(sum(span) FILTER (WHERE blk < ?), 0), coalesce(sum(nl_span) FILTER (WHERE blk < ?), 0), "
                "coalesce(sum(span) FILTER (WHERE blk > ?), 0) FROM blocks", (blk, blk, blk)).fetchone()
            rows = conn.execute("SELECT ord, span, pre, nl_span, nl_pre FROM spans WHERE ord >= ? AND ord < ?",
                                (blk * BLOCK, (blk + 1) * BLOCK)).fetchall()
            _, span, pre, _nl_span, nl_pre = next(r for r in rows if r[0] == ord_)
            before += sum(r[1] for r in rows if r[0] < ord_)
            nl_before += sum(r[3] for r in rows if r[0] < ord_)
            total = after + sum(r[1] for r in rows if r[0] > ord_)
        except (sqlite3.Error, OSError):
            return None
        lead = meta[2] + before
        case = CaseSpan(case_id, bool(explicit), lead, lead + pre, lead + span, meta[3] + nl_before + nl_pre,
                        description, json.loads(asserts))
        return Located(ord_, case, meta[1], lead + span + total, len(hits), meta[3] + nl_before)

    def has_id(self, case_id: str) -> bool:
        return self._connect().execute("SELECT 1 FROM cases WHERE id = ? LIMIT 1", (case_id,)).fetchone() is not None

    def last(self, key: StatKey) -> Located | None:
        """The last case (an appended case copies its style), like `locate`."""
        try:
            row = self._connect().execute("SELECT c.id FROM cases c ORDER BY c.ord DESC LIMIT 1").fetchone()
        except sqlite3.Error:
            return None
        found = self.locate(key, row[0]) if row is not None else None
        return found if found is not None and found.count == 1 else None

    def replaced(self, old: StatKey, new: StatKey, found: Located, chunk: bytes, case_id: str,
                 description: str, asserts: list[str]) -> None:
        """Record that `found`'s case now reads `chunk` (from its dash on) and the file has stat `new`."""
        span = found.span
        pre = span.start - span.lead
        self._commit(old, new, [
            (_BLOCK_REPLACED, (len(chunk), chunk.count(b"\n"), found.ord, found.ord // BLOCK)),
            ("UPDATE spans SET span = ?, nl_span = nl_pre + ? WHERE ord = ?",
             (pre + len(chunk), chunk.count(b"\n"), found.ord)),
            ("UPDATE cases SET id = ?, explicit = 1, description = ?, asserts = ? WHERE ord = ?",
             (case_id, description, json.dumps(asserts), found.ord)),
        ])

    def removed(self, old: StatKey, new: StatKey, found: Located) -> None:
        self._commit(old, new, [(_BLOCK_REMOVED, (found.ord, found.ord // BLOCK)),
                                ("DELETE FROM spans WHERE ord = ?", (found.ord,)),
                                ("DELETE FROM cases WHERE ord = ?", (found.ord,))])

    def appended(self, old: StatKey, new: StatKey, prefix: bytes, chunk: bytes, case_id: str,
                 description: str, asserts: list[str]) -> None:
        """A case `chunk` added after the last one (`prefix`: a newline the old last line lacked)."""
        self._commit(old, new, [
            ("INSERT INTO spans VALUES ((SELECT coalesce(max(ord), -1) + 1 FROM spans), ?, ?, ?, ?)",
             (len(prefix) + len(chunk), len(prefix), (prefix + chunk).count(b"\n"), prefix.count(b"\n"))),
            ("INSERT INTO cases VALUES ((SELECT max(ord) FROM spans), ?, 1, ?, ?)",
             (case_id, description, json.dumps(asserts))),
            (_BLOCK_APPENDED, ()),
        ])

    def _commit(self, old: StatKey, new: StatKey, statements: list[tuple[str, tuple[object, ...]]]) -> None:
        try:
            with self._write() as conn:
                if self._meta(old) is None:
                    raise sqlite3.IntegrityError("the cache changed under us")
                for sql, args in statements:
                    conn.execute(sql, args)
                conn.execute("UPDATE meta SET size = ?, mtime_ns = ?, ctime_ns = ?, ino = ?, dev = ?", new)
        except (sqlite3.Error, OSError):
            self.drop()
