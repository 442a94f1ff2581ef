"""Loop fixtures: the example system copied out as a git repository, with its backtest imported,
analysed by the scripted analyst and clustered against its code (once per session; tests copy it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.importer import import_backtest
from agentbook.workflows.fixture import example_dir, make_repo

ANALYST = "scripted:backtest/analyst.script.yaml"
EVAL_MODEL = "scripted:evals/sut.script.yaml"


@pytest.fixture(scope="session")
def example_clustered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example repo (committed) plus backtests/2026-11, git-ignored like every run's output."""
    repo = make_repo(example_dir(), tmp_path_factory.mktemp("loop") / "ia", ["python scripts/generate.py --big"])
    bt = repo / "backtests" / "2026-11"
    import_backtest(repo / "backtest" / "manifest.jsonl", bt)
    summary = analyze_backtest(bt, AnalyzeOptions(model=f"scripted:{repo / ANALYST.removeprefix('scripted:')}",
                                                  code=str(repo), progress=False))
    assert not summary.failed, summary.to_json()
    cluster_backtest(str(bt), code=str(repo))
    (repo / ".git" / "info" / "exclude").write_text("backtests/\n")
    return repo


@pytest.fixture
def example_repo(example_clustered: Path, tmp_path: Path) -> Path:
    """A private copy of `example_clustered` (tests write tickets and branches into it)."""
    dest = tmp_path / "ia"
    shutil.copytree(example_clustered, dest, symlinks=True)
    return dest
