"""What `trace export` writes is bounded. A trace is attacker-written and a few bytes of it can name many
files: a 139 KB Inspect AI log of 10,000 empty samples wrote 100k files and 392 MB in 76 s, a 17 KB one
reusing pooled messages 1M files and 4 GB, as root on a CI machine. The export now counts files and bytes
before it queues each file and stops at `--max-files` / `--max-bytes` (defaults scale with the trace
file's size), removing its partial folder and leaving an earlier export at OUT as it was. Two exports
into one OUT at once crashed in the swap with FileNotFoundError; the second is now refused."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
HEADER = {"version": 2, "status": "success", "eval": {"task": "t", "run_id": "r", "model": "m"}, "plan": {}}


def _log(path: Path, samples: int, text: str = "hi") -> Path:
    def sample(n: int) -> dict[str, Any]:
        call = {"event": "model", "timestamp": "2026-01-01T00:00:00Z", "model": "m",
                "input": [{"role": "user", "content": text}],
                "output": {"choices": [{"message": {"role": "assistant", "content": "yo"}}]}}
        return {"id": f"s{n}", "epoch": 1, "input": "hi", "messages": [], "events": [call]}

    path.write_text(json.dumps({**HEADER, "samples": [sample(n) for n in range(samples)]}))
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_too_many_files_stops_the_export_and_keeps_the_old_one(run_cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("trace", "export", _log(tmp_path / "one.json", 1), out).code == 0
    before = _snapshot(out)
    path = _log(tmp_path / "many.json", 200)
    result = run_cli("trace", "export", path, out, "--max-files", "300")
    assert result.code == 3, result
    assert "many.json" in result.err and "more than the 300 allowed" in result.err and "--max-files" in result.err
    assert "Traceback" not in result.err
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")) == []
    assert run_cli("trace", "export", path, out, "--max-files", "100000").code == 0  # raised: it goes through


def test_too_many_bytes_is_a_json_error(run_cli: Cli, tmp_path: Path) -> None:
    path = _log(tmp_path / "long.json", 3, text="x" * 200_000)
    result = run_cli("trace", "export", path, tmp_path / "out", "--max-bytes", "100000", "--json")
    assert result.code == 3, result
    error = json.loads(result.out)
    assert "100,000 allowed" in error["error"] and "--max-bytes" in error["hint"]
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_the_defaults_let_an_ordinary_trace_through(run_cli: Cli, tmp_path: Path) -> None:
    result = run_cli("trace", "export", _log(tmp_path / "t.json", 50, text="y" * 5_000), tmp_path / "out", "--json")
    assert result.code == 0, result
    assert sum(t["files"] for t in json.loads(result.out)["traces"]) > 100


def test_a_second_export_into_the_same_folder_is_refused_while_one_runs(run_cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = _log(tmp_path / "t.json", 2)
    assert run_cli("trace", "export", path, out).code == 0
    before = _snapshot(out)
    with open(tmp_path / ".out.lock", "a") as held:  # what a running export holds
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_cli("trace", "export", path, out)
    assert result.code == 3, result
    assert "another trace export is writing" in result.err and "Traceback" not in result.err
    assert _snapshot(out) == before


def test_a_file_of_many_tiny_traces_is_refused_before_anything_is_written(run_cli: Cli, tmp_path: Path) -> None:
    """10,000 empty samples (259 KB) are 10,000 traces of at least 7 files each: the export wrote 25,901 files
    (in 30 s here) before it stopped and spent as long removing them; it is now refused before it writes."""
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({**HEADER, "samples": [{"id": n, "epoch": 1} for n in range(10_000)]}))
    result = run_cli("trace", "export", path, tmp_path / "out")
    assert result.code == 3, result
    assert ("would write at least 70,000 files (10,000 traces, 7 files each), more than the 25,900 allowed; "
            "nothing was written") in result.err and "--max-files" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.json"]


def test_the_traces_of_one_file_are_folders_of_one_export(run_cli: Cli, tmp_path: Path) -> None:
    """Each trace is written straight into the export's temporary folder (it was exported and swapped in one
    by one, each globbing its growing parent for stale exports: quadratic in the traces); the folders are as
    a swapped-in export leaves them."""
    out = tmp_path / "out"
    result = run_cli("trace", "export", _log(tmp_path / "three.json", 3), out, "--json")
    assert result.code == 0, result
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert [p.name for p in folders] == ["01-s0-epoch-1", "02-s1-epoch-1", "03-s2-epoch-1"]
    assert {p.stat().st_mode & 0o777 for p in folders} == {0o755}
    assert [t["out_dir"] for t in json.loads(result.out)["traces"]] == [str(p) for p in folders]
    assert all((p / ".agentbook-trace").is_file() for p in folders) and (out / ".agentbook-traces").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "three.json"]
