"""The SQLite index cache and the kernel-copied splice give the same files, answers and index as
doing every operation from a cold cache (the file read and indexed afresh each time)."""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.errors import FatalError
from agentbook.evals import state
from agentbook.evals.index import build_index
from agentbook.evals.indexstore import IndexStore, stat_key
from agentbook.evals.store import open_suite
from agentbook.evals.synth import synthetic_suite
from agentbook.fsutil import atomic_splice

Op = Callable[[Any], Any]


def ops(seed: int, ids: list[str]) -> list[tuple[str, Op]]:
    """A seeded mix of edits (growing, shrinking, renaming), adds, removes, shows and lists."""
    rng = random.Random(seed)
    ids = [*ids, "no-such-case"]
    out: list[tuple[str, Op]] = []
    for k in range(40):
        cid = rng.choice(ids)
        kind = rng.choice(["grow", "shrink", "value", "show", "get", "list", "add", "remove", "rename"])
        if kind == "grow":
            out.append((f"grow {cid}", lambda s, c=cid, k=k: s.edit_case(c, [("vars.logs", "line\n" * (k + 3))])))
        elif kind == "shrink":
            out.append((f"shrink {cid}", lambda s, c=cid: s.edit_case(c, [("vars.logs", "x")])))
        elif kind == "value":
            out.append((f"value {cid}", lambda s, c=cid, k=k: s.edit_case(c, [("assert[0].value", f"v{k}")])))
        elif kind == "show":
            out.append((f"show {cid}", lambda s, c=cid: s.case_text(c)))
        elif kind == "get":
            out.append((f"get {cid}", lambda s, c=cid: s.get_case(c)))
        elif kind == "list":
            out.append(("list", lambda s: [(i.id, i.location, i.size, i.asserts) for i in s.list_cases()]))
        elif kind == "add":
            new = f"added-{k}"
            ids.append(new)
            out.append((f"add {new}", lambda s, c=new: s.add_case({"id": c, "vars": {"q": "é"}})))
        elif kind == "remove":
            out.append((f"remove {cid}", lambda s, c=cid: s.remove_case(c)))
        else:
            new = f"renamed-{k}"
            ids.append(new)
            out.append((f"rename {cid}", lambda s, c=cid, n=new: s.edit_case(c, [("id", n)])))
    return out


def outcome(fn: Op, path: Path) -> Any:
    try:
        result = fn(open_suite(path))  # a fresh suite object, as a new process would have
    except FatalError as err:
        result = ("error", err.render())
    data = result.to_json() if hasattr(result, "to_json") else result
    return json.loads(json.dumps(data).replace(str(path), "SUITE"))


def suite_text(n: int) -> str:
    """A synthetic suite plus two cases without ids and a comment after the last case."""
    return synthetic_suite(n, case_bytes=600) + \
        "  - vars: {q: plain}\n    assert: [{type: equals, value: x}]\n" \
        "  # between the plain cases\n  - vars: {q: plain2}\n" \
        "# trailing comment\nmetadata_after: 1\n"


@pytest.mark.parametrize(("seed", "n"), [(1, 12), (2, 12), (3, 12), (4, 100), (5, 100)])
def test_cached_and_cold_paths_agree(tmp_path: Path, seed: int, n: int) -> None:
    """(100 cases: the cache's sums of blocks of spans are used and kept, not only one block's spans.)"""
    (tmp_path / "warm").mkdir()
    (tmp_path / "cold").mkdir()
    warm, cold = tmp_path / "warm" / "suite.yaml", tmp_path / "cold" / "suite.yaml"
    warm.write_text(suite_text(n))
    cold.write_text(suite_text(n))
    ids = [c.id for c in build_index(warm.read_bytes()).cases]
    assert len(ids) == n + 2 and not ids[-1].startswith("case-0")  # two cases with content ids
    for label, fn in ops(seed, ids):
        IndexStore(state.index_db(cold)).drop()  # the cold side indexes the file afresh every time
        assert outcome(fn, warm) == outcome(fn, cold), label
        assert warm.read_bytes() == cold.read_bytes(), label
    cached = IndexStore(state.index_db(warm)).load(stat_key(warm.stat()))
    assert cached is not None and cached.fast
    fresh = build_index(warm.read_bytes())
    assert cached.cases == fresh.cases
    assert (cached.items_start, cached.items_end, cached.dash_col) == (
        fresh.items_start, fresh.items_end, fresh.dash_col)


def test_each_case_is_located_where_it_is_after_edits_removals_and_adds(tmp_path: Path) -> None:
    """A case's offset is the sum of the cache's blocks of spans before its own plus the spans before it
    in its block: every change of a case's length keeps its block's sum (a wrong sum is caught when the
    bytes there do not fit, at the cost of a rebuild, so it is checked here against a fresh index)."""
    path = tmp_path / "suite.yaml"
    path.write_text(suite_text(100))
    changes: list[Op] = [lambda s: s.edit_case("case-00001", [("vars.logs", "grown\n" * 7)]),
                         lambda s: s.edit_case("case-00040", [("vars.logs", "x")]),
                         lambda s: s.remove_case("case-00002"),
                         lambda s: s.add_case({"id": "added", "vars": {"q": "é"}}),
                         lambda s: s.edit_case("added", [("vars.logs", "more\n" * 3)])]
    open_suite(path).list_cases()
    for change in changes:
        change(open_suite(path))
        store, fresh = IndexStore(state.index_db(path)), build_index(path.read_bytes())
        for case in fresh.cases:
            found = store.locate(stat_key(path.stat()), case.id)
            assert found is not None and (found.span, found.items_end) == (case, fresh.items_end), case.id
        store.close()


def test_a_cache_that_does_not_fit_the_bytes_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(synthetic_suite(4))
    open_suite(path).list_cases()
    db = state.index_db(path)
    with sqlite3.connect(db) as conn:  # a cache that lies: every case 3 bytes longer than it is
        conn.execute("UPDATE spans SET span = span + 3")
    suite = open_suite(path)
    suite.edit_case("case-00002", [("assert[0].value", "fine")])
    assert suite.get_case("case-00002")["assert"][0]["value"] == "fine"
    assert [c.id for c in suite.list_cases()] == [f"case-{i:05d}" for i in range(4)]
    assert build_index(path.read_bytes()).cases == IndexStore(db).load(stat_key(path.stat())).cases  # type: ignore[union-attr]


def test_a_broken_cache_file_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(synthetic_suite(3))
    open_suite(path).list_cases()
    db = state.index_db(path)
    IndexStore(db).close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"not a database at all" * 100)
    assert len(open_suite(path).list_cases()) == 3
    open_suite(path).edit_case("case-00001", [("assert[0].value", "ok")])
    assert open_suite(path).get_case("case-00001")["assert"][0]["value"] == "ok"


def test_atomic_splice_copies_ranges_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    path.chmod(0o640)
    st = atomic_splice(path, [(0, 1000), b"new", (1200, len(data) - 1200), b""])
    assert path.read_bytes() == data[:1000] + b"new" + data[1200:]
    assert st.st_size == len(data) - 197 and (st.st_mode & 0o777) == 0o640
    with pytest.raises(OSError):
        atomic_splice(path, [(0, 10), (st.st_size - 5, 100)])  # past the end: nothing written
    assert path.read_bytes() == data[:1000] + b"new" + data[1200:]
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def _traced_bytes(folder: Path, *args: str) -> int:
    """Bytes an `agentbook` process passes through read and write calls on files in `folder` (strace;
    `copy_file_range` moves the rest of the file inside the kernel)."""
    log = folder.parent / "edit.strace"
    subprocess.run(["strace", "-f", "-y", "-qq", "-o", str(log), "-e",
                    "trace=read,pread64,readv,preadv,write,pwrite64,writev,pwritev",
                    sys.executable, "-m", "agentbook", *args], check=True, capture_output=True)
    calls = re.compile(r"^(?:\d+ +)?\w+\(\d+<([^>]*)>.*= (\d+)$")
    return sum(int(m.group(2)) for line in log.read_text(errors="replace").splitlines()
               if (m := calls.match(line)) and m.group(1).startswith(f"{folder}/"))


def test_an_edit_reads_and_writes_under_one_percent_of_a_5_mb_suite(tmp_path: Path) -> None:
    """With the index cached, `eval edit` of one case reads and writes its case and a few pages of the
    cache, not every case's row: SQLite moves whole pages, so the cache's pages are small and a case's
    offset comes from per-block sums (it was 1.4-1.7%, ~60 KB of the cache's 4 KB pages, before)."""
    if shutil.which("strace") is None or subprocess.run(["strace", "-qq", "true"], capture_output=True, check=False).returncode:
        pytest.skip("strace is not installed or cannot trace here")
    (tmp_path / "suite").mkdir()
    path = tmp_path / "suite" / "suite.yaml"
    path.write_text(synthetic_suite(1280, case_bytes=5_000_000 // 1280))
    open_suite(path).edit_case("case-00640", [("assert[0].value", "warm")])  # the index cached, as the bench has it
    through = _traced_bytes(path.parent, "eval", "edit", str(path), "case-00640", "--set", "assert[0].value=traced")
    assert open_suite(path).get_case("case-00640")["assert"][0]["value"] == "traced"
    assert through <= path.stat().st_size // 100, f"{through:,} B through the process for a {path.stat().st_size:,} B suite"
