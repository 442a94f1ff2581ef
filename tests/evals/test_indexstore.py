"""The SQLite index cache and the kernel-copied splice give the same files, answers and index as
doing every operation from a cold cache (the file read and indexed afresh each time)."""

from __future__ import annotations

import json
import random
import sqlite3
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


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cached_and_cold_paths_agree(tmp_path: Path, seed: int) -> None:
    (tmp_path / "warm").mkdir()
    (tmp_path / "cold").mkdir()
    warm, cold = tmp_path / "warm" / "suite.yaml", tmp_path / "cold" / "suite.yaml"
    warm.write_text(suite_text(12))
    cold.write_text(suite_text(12))
    ids = [c.id for c in build_index(warm.read_bytes()).cases]
    assert len(ids) == 14 and not ids[-1].startswith("case-0")  # two cases with content ids
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
