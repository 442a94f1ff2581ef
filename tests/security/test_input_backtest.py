"""A hostile backtest folder given to `backtest analyze`: files linked out of an investigation (the
runner's /proc/self/environ, a file beside the folder), fifos and /dev/zero, an investigation that is
itself a symlink, and meta.yaml names that climb out. The analyst model is the stand-in on loopback,
reached through the real SDK; what it was sent is read back from the server."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from bench.loader import load_module

from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.folder import BacktestFolder, Investigation
from agentbook.backtest.importer import import_backtest
from agentbook.errors import FatalError
from agentbook.standin import running

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "incident-assistant" / "backtest"
ANALYST = EXAMPLE / "analyst.script.yaml"
SECRET = "sk-ant-api03-backtest-analyst-must-not-see-this"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("source")
    load_module(EXAMPLE / "generate.py", "backtest_generate").generate(out, seed=7, count=3, accounts=1)
    return out


def _backtest(source: Path, tmp_path: Path) -> tuple[Path, Investigation]:
    folder = tmp_path / "bt"
    import_backtest(source / "manifest.jsonl", folder)
    return folder, BacktestFolder(folder).investigations()[0]


def _sent(folder: Path, only: str) -> str:
    """Everything the analyst model was sent for investigation `only`, as one string."""
    with running(ANALYST) as server:
        summary = analyze_backtest(folder, AnalyzeOptions(model=f"compat:{server.base_url}#scripted", only=[only],
                                                          progress=False))
        bodies = [r["body"] for r in server.requests("/v1/messages")]
    assert summary.done == 1, summary.to_json()
    return json.dumps(bodies)


def test_inlined_files_linked_out_of_the_investigation_are_not_sent(source: Path, tmp_path: Path) -> None:
    """outcome.md and truth.md are inlined into the analyst's first request; linked to a file beside the
    folder and to the runner's own environment, they were read through the links and sent."""
    folder, inv = _backtest(source, tmp_path)
    (tmp_path / "beside.txt").write_text(SECRET)
    for name, target in (("outcome.md", tmp_path / "beside.txt"), ("truth.md", Path("/proc/self/environ"))):
        (inv.path / name).unlink()
        (inv.path / name).symlink_to(target)
    sent = _sent(folder, inv.id)
    assert SECRET not in sent
    assert "PATH=" not in sent and "\\u0000" not in sent  # nothing of /proc/self/environ
    assert "outcome.md is not shown" in sent and "truth.md is not shown" in sent


def _limit_memory() -> None:
    # a regression reads /dev/zero into memory: fail on MemoryError instead of taking the machine's
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def test_fifos_and_devices_in_an_investigation_do_not_hang_the_analysis(source: Path, tmp_path: Path) -> None:
    """Hashing the folder (to know what is done) opened every file: a fifo blocked for ever and
    /dev/zero was read until memory ran out, before the analyst's clock started."""
    folder, inv = _backtest(source, tmp_path)
    os.mkfifo(inv.path / "trace" / "blocks")
    (inv.path / "trace" / "endless").symlink_to("/dev/zero")
    (inv.path / "outcome.md").unlink()
    os.mkfifo(inv.path / "outcome.md")
    with running(ANALYST) as server:
        argv = [sys.executable, "-m", "agentbook", "backtest", "analyze", str(folder), "--model",
                f"compat:{server.base_url}#scripted", "--only", inv.id, "--json"]
        env = {**os.environ, "PYTHONPATH": str(REPO / "runner")}
        try:
            done = subprocess.run(argv, check=False, capture_output=True, text=True, env=env, timeout=120,
                                  preexec_fn=_limit_memory)
        except subprocess.TimeoutExpired:
            pytest.fail("backtest analyze hung on a fifo in the investigation")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["done"] == 1


def test_an_investigation_that_is_a_symlink_is_refused(source: Path, tmp_path: Path) -> None:
    """The investigation folder is its analyst's tools' root: linked to a folder outside, the analyst read
    there and the analysis was written there."""
    folder, inv = _backtest(source, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    inv.path.rename(elsewhere)
    (elsewhere / "secret.txt").write_text(SECRET)
    inv.path.symlink_to(elsewhere)
    with pytest.raises(FatalError, match="is a symlink"):
        analyze_backtest(folder, AnalyzeOptions(model=f"scripted:{ANALYST}", progress=False))
    assert not (elsewhere / "analysis.json").exists()


@pytest.mark.parametrize("field", ["id", "account"])
def test_meta_names_that_climb_out_are_refused(source: Path, tmp_path: Path, field: str) -> None:
    """meta.yaml's id and account name the analyst's transcript file (<account>/<id>.jsonl): `../..` in
    one wrote a file anywhere the runner may write."""
    folder, inv = _backtest(source, tmp_path)
    meta = (inv.path / "meta.yaml").read_text()
    old = f"{field}: {getattr(inv, field)}\n"
    assert old in meta
    (inv.path / "meta.yaml").write_text(meta.replace(old, f"{field}: ../../../../escaped\n"))
    with pytest.raises(FatalError, match=f"{field} '../../../../escaped' is not a plain name"):
        analyze_backtest(folder, AnalyzeOptions(model=f"scripted:{ANALYST}", progress=False))
    assert not list(tmp_path.rglob("escaped*"))


def test_a_manifest_name_ending_in_a_newline_is_refused(source: Path, tmp_path: Path) -> None:
    """Ids and accounts name folders; the check's `$` also matched before a trailing newline, so
    `inv-1\\n` became a folder whose name breaks every line that lists it."""
    row = json.loads((source / "manifest.jsonl").read_text().splitlines()[0])
    row.update(id=row["id"] + "\n", trace=str(source / row["trace"]))
    (tmp_path / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(FatalError) as err:
        import_backtest(tmp_path / "manifest.jsonl", tmp_path / "bt")
    assert "names a folder" in err.value.render()
    assert not (tmp_path / "bt" / "investigations").exists() or not any((tmp_path / "bt" / "investigations").rglob("*"))
