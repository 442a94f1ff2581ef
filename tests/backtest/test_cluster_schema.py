"""`backtest cluster` refuses analyses that break schemas/analysis.schema.json, naming the file, the line
and the field, as `agentbook validate` does: clustering them would silently misread them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentbook.backtest.folder import BacktestFolder

from .conftest import copy_backtest, rewrite


def _break(folder: Path, n: int, **fields: Any) -> Path:
    """Set `fields` in the analysis of the n-th analysed failure of `folder`; its analysis.json."""
    invs = [i for i in BacktestFolder(folder).iter_investigations() if not i.correct and i.analysis()]
    path = invs[n].path / "analysis.json"
    rewrite(path, json.dumps({**json.loads(path.read_text()), **fields}, indent=2) + "\n")
    return path


def test_cluster_names_each_invalid_analysis_and_field(analysed: Path, tmp_path: Path,
                                                       run_cli: Callable[..., Any]) -> None:
    folder = copy_backtest(analysed, tmp_path / "bt")
    stage = _break(folder, 0, stage="querygen")
    confidence = _break(folder, 3, confidence=2)
    result = run_cli("backtest", "cluster", folder)
    assert result.code == 3 and result.out == ""
    lines = result.err.splitlines()
    assert "2 analysis files break the analysis schema" in lines[0]
    stage_line = next(n for n, line in enumerate(stage.read_text().splitlines(), 1) if '"stage"' in line)
    assert f"{stage}:{stage_line}: stage: 'querygen' is not one of [" in result.err
    assert f"{confidence}:" in result.err and "confidence: 2 is greater than the maximum of 1" in result.err
    assert f"agentbook validate {folder}" in result.err and "Traceback" not in result.err
    assert not (folder / "cohorts" / "index.json").exists()  # nothing half-clustered is written


def test_pipeline_fields_are_not_the_clusterings_concern(analysed: Path, tmp_path: Path,
                                                        run_cli: Callable[..., Any]) -> None:
    """`meta` is the pipeline's record of how an analysis was made (a generator writes its own mode):
    clustering never reads it, so it does not stop clustering."""
    folder = copy_backtest(analysed, tmp_path / "bt")
    meta = json.loads(_break(folder, 0).read_text()).get("meta", {})
    _break(folder, 0, meta={**meta, "mode": "templated"})
    result = run_cli("backtest", "cluster", folder, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["failures"] > 0


def test_a_backtest_with_no_analysed_failure_clusters_to_nothing(imported: Path, tmp_path: Path,
                                                                 run_cli: Callable[..., Any]) -> None:
    """Before any analysis (or when every run went right) there is nothing to group: no cohort, and
    the failures still to analyse are named. It died with a ValueError (exit 70) building features
    for no failures."""
    folder = copy_backtest(imported, tmp_path / "bt")
    result = run_cli("backtest", "cluster", folder, "--json")
    assert result.code == 0, result.err
    out = json.loads(result.out)
    failed = sorted(i.id for i in BacktestFolder(folder).iter_investigations() if not i.correct)
    assert out["failures"] == 0 and out["cohorts"] == [] and out["unanalysed"] == failed and failed
