"""`backtest import`: manifest checks with locations, the folder layout, idempotence, --update."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.errors import FatalError

from .conftest import load_generator


def _manifest(tmp: Path, rows: list[object], traces: list[str] = ("t1.json",)) -> Path:
    gen = load_generator()
    src = tmp / "src"
    gen.generate(src, seed=1, count=2, accounts=2)
    for name in traces:
        (tmp / name).write_bytes((src / "traces" / "inv-0001.json").read_bytes())
    path = tmp / "manifest.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _row(i: int = 1, **over: object) -> dict[str, object]:
    row: dict[str, object] = {"id": f"inv-{i}", "account": "acme", "trace": "t1.json", "answer": "a",
                              "truth": "t", "verdict": "wrong"}
    row.update(over)
    return row


@pytest.mark.parametrize(("rows", "message"), [
    (["{not json"], "manifest.jsonl:1: invalid JSON: Expecting property name enclosed in double quotes at column 2"),
    ([_row(), _row()], "manifest.jsonl:2: duplicate id 'inv-1' (first on line 1)"),
    ([_row(trace="missing.json")], "manifest.jsonl:1: trace file not found: missing.json"),
    ([_row(id="../../etc")], "manifest.jsonl:1: 'id' '../../etc' must match "),
    ([_row(verdict="maybe")], "manifest.jsonl:1: needs 'verdict' (one of correct, wrong, partial) or a numeric 'score'"),
    ([_row(), _row(2, account=""), "[1]"], ("manifest.jsonl:2: 'account' must be a non-empty string (also line 3: "
                                           "each line must be a JSON object)")),
])
def test_bad_manifest_is_refused_with_its_line_and_nothing_written(tmp_path: Path, rows: list[object],
                                                                    message: str) -> None:
    manifest = _manifest(tmp_path, rows)
    with pytest.raises(FatalError) as err:
        import_backtest(manifest, tmp_path / "out")
    assert str(err.value).startswith(str(tmp_path / message.split(":", 1)[0]) + ":" + message.split(":", 1)[1])
    assert "nothing was imported" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_score_alone_gives_the_verdict(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, [_row(1, verdict=None, score=0.9), _row(2, verdict=None, score=0.2)])
    import_backtest(manifest, tmp_path / "out")
    invs = {i.id: i for i in BacktestFolder(tmp_path / "out").investigations()}
    assert (invs["inv-1"].verdict, invs["inv-2"].verdict) == ("correct", "wrong")


def test_layout_of_an_imported_backtest(imported: Path) -> None:
    folder = BacktestFolder(imported)
    invs = folder.investigations()
    assert len(invs) == 200 and len({i.account for i in invs}) == 20
    inv = invs[0]
    for rel in ("trace/README.md", "trace/errors.md", "trace/tree.txt", "trace/index.tsv", "outcome.md",
                "truth.md", "meta.yaml"):
        assert (inv.path / rel).is_file(), rel
    meta = yaml.safe_load((inv.path / "meta.yaml").read_text())
    assert meta["export"]["spans"] == 6 and "out_dir" not in meta["export"]
    assert (imported / "README.md").read_text().startswith("# Backtest")
    rows = [json.loads(line) for line in (imported / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 200 and rows[0]["trace"] == f"investigations/{rows[0]['account']}/{rows[0]['id']}/trace"


def test_import_again_is_a_no_op_and_other_manifests_need_update(small_source: Path, tmp_path: Path,
                                                                  run_cli: Callable[..., object]) -> None:
    generated = small_source
    out = tmp_path / "bt"
    first = import_backtest(generated / "manifest.jsonl", out)
    assert len(first.imported) == 60
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("meta.yaml")}
    again = import_backtest(generated / "manifest.jsonl", out)
    assert (len(again.imported), len(again.unchanged)) == (0, 60)
    assert stamp == {p: p.stat().st_mtime_ns for p in out.rglob("meta.yaml")}
    other = tmp_path / "other.jsonl"
    lines = (generated / "manifest.jsonl").read_text().splitlines()
    other.write_text("\n".join(line.replace('"traces/', f'"{generated}/traces/') for line in lines[:5]) + "\n")
    result = run_cli("backtest", "import", other, out)
    assert result.code == 3  # type: ignore[attr-defined]
    assert result.err.strip() == (f"agentbook: error: {out} was imported from a different manifest "  # type: ignore[attr-defined]
                                  "(pass --update to add its new investigations)")


def test_update_adds_new_investigations_and_leaves_analysed_ones_alone(generated: Path, tmp_path: Path) -> None:
    lines = (generated / "manifest.jsonl").read_text().splitlines()
    first = tmp_path / "first.jsonl"
    first.write_text("\n".join(line.replace('"traces/', f'"{generated}/traces/') for line in lines[:10]) + "\n")
    out = tmp_path / "bt"
    import_backtest(first, out)
    analysed = BacktestFolder(out).investigations()[0]
    (analysed.path / "analysis.json").write_text('{"verdict": "wrong"}\n')
    before = (analysed.path / "meta.yaml").read_bytes()
    # the second manifest changes the analysed investigation's answer and adds five more
    second = tmp_path / "second.jsonl"
    rows = [json.loads(line.replace('"traces/', f'"{generated}/traces/')) for line in lines[:15]]
    for row in rows:
        if row["id"] == analysed.id:
            row["answer"] = "changed"
    second.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = import_backtest(second, out, update=True)
    assert len(summary.imported) == 5 and summary.kept_changed == [analysed.id]
    assert (analysed.path / "meta.yaml").read_bytes() == before
    assert (analysed.path / "analysis.json").read_text() == '{"verdict": "wrong"}\n'
    assert len(BacktestFolder(out).investigations()) == 15
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 15


def test_a_killed_import_leaves_whole_investigations_and_resumes(small_source: Path, tmp_path: Path) -> None:
    generated = small_source
    out = tmp_path / "bt"
    import_backtest(generated / "manifest.jsonl", out)
    victim = BacktestFolder(out).investigations()[3]
    # what kill -9 leaves: a temp folder mid-build, and the investigation it was building missing
    stale = victim.path.with_name(f".tmp-{victim.id}-{os.getpid() + 1}")
    victim.path.rename(stale)
    (stale / "truth.md").unlink()
    assert victim.id not in {i.id for i in BacktestFolder(out).investigations()}
    summary = import_backtest(generated / "manifest.jsonl", out)
    assert summary.imported == [victim.id] and not stale.exists()
    assert (victim.path / "truth.md").is_file()


def test_generator_is_deterministic_and_matches_the_committed_example(generated: Path, tmp_path: Path) -> None:
    gen = load_generator()
    gen.generate(tmp_path / "again", seed=7, count=200, accounts=20)
    assert gen.digest(tmp_path / "again") == gen.digest(generated)
    committed = Path(__file__).resolve().parents[2] / "examples" / "incident-assistant" / "backtest"
    assert gen.digest(committed) == gen.digest(generated), "re-run examples/incident-assistant/backtest/generate.py"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "meta.yaml" and ".agentbook" not in p.parts}


def test_parallel_import_writes_the_same_bytes_as_serial(small_source: Path, tmp_path: Path) -> None:
    generated = small_source
    serial = import_backtest(generated / "manifest.jsonl", tmp_path / "serial", jobs=1)
    parallel = import_backtest(generated / "manifest.jsonl", tmp_path / "parallel", jobs=2)
    assert serial.imported == parallel.imported
    assert _tree(tmp_path / "serial") == _tree(tmp_path / "parallel")


def test_a_bad_trace_stops_the_import_with_its_line_and_leaves_whole_investigations(generated: Path,
                                                                                     tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (generated / "manifest.jsonl").read_text().splitlines()[:60]]
    for row in rows:
        row["trace"] = str(generated / row["trace"])
    (tmp_path / "broken.json").write_text('{"resourceSpans": [')
    rows[40]["trace"] = str(tmp_path / "broken.json")
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(FatalError) as err:
        import_backtest(tmp_path / "m.jsonl", tmp_path / "bt", jobs=2)
    assert str(err.value).startswith(f"{tmp_path / 'm.jsonl'}:41: investigation {rows[40]['id']}: cannot read trace "
                                     f"{tmp_path / 'broken.json'}: ")
    placed = BacktestFolder(tmp_path / "bt").investigations()
    assert 0 < len(placed) < 60 and rows[40]["id"] not in {i.id for i in placed}
    assert all((i.path / "trace" / "tree.txt").is_file() for i in placed)
    assert not [p for p in (tmp_path / "bt").rglob(".tmp-*")]


def test_a_missing_optional_library_names_the_extra() -> None:
    from agentbook.backtest.deps import need

    with pytest.raises(FatalError) as err:
        need("agentbook_no_such_library.sub", "--executor ray")
    assert str(err.value) == ("--executor ray needs agentbook_no_such_library, which is not installed "
                              "(in agentbook's checkout: .venv/bin/python -m pip install -e '.[backtest]')")


def test_a_trace_naming_too_many_files_is_refused_and_nothing_placed(tmp_path: Path) -> None:
    """`backtest import` exported with no bound: an attacker's Inspect log of empty samples (about 10 files
    for 14 bytes) wrote ~1 GB per 100 KB. It is held to `trace export`'s default bounds (20,000 files at
    least), the error names the manifest line, and no investigation is placed."""
    samples = [{"id": n, "epoch": 1, "input": "", "messages": [], "events": []} for n in range(2600)]
    (tmp_path / "bomb.json").write_text(json.dumps({"version": 2, "status": "success", "plan": {},
                                                    "eval": {"task": "t", "run_id": "r", "model": "m"},
                                                    "samples": samples}))
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps(_row(trace="bomb.json")) + "\n")
    with pytest.raises(FatalError) as err:
        import_backtest(manifest, tmp_path / "bt", jobs=1)
    assert err.value.location == f"{manifest}:1"
    assert f"investigation inv-1's trace {tmp_path / 'bomb.json'} reached" in err.value.message
    assert "files, more than the 20,000 allowed" in err.value.message
    assert not list((tmp_path / "bt").rglob("README.md"))


def test_the_state_of_an_imported_backtest_stays_out_of_git(git_repo: Path) -> None:
    """analyze-backtest's first step commits the folder `import` made: in a repository whose .gitignore
    does not name `.agentbook/` (the example's does; kevinschaul/llm-evals has none), import.json and
    import.lock were pending, and the runner's guard blocked the run on them."""
    from tests.conftest import git

    manifest = _manifest(git_repo, [_row()])
    folder = git_repo / "backtests" / "nov"
    import_backtest(manifest, folder)
    assert (folder / ".agentbook" / "import.json").is_file()
    pending = git(git_repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert [p for p in pending if "/.agentbook/" in p] == []
    assert any("backtests/nov/investigations/" in p for p in pending)  # the folder itself is work to commit
