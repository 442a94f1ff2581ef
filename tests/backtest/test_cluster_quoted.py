"""An error analysts quote that says nothing about a cause (features.quoted_contrast): analysts that quote a
run's first error quote a harmless one (a timeout retried with success) as often in causeless failures as
in a cause's, and its words and meaning bound them into mixed cohorts. Developed on dev_ledger.py, whose
runs, right or wrong, hit a retried connection pool timeout first in about a third of them (POOL_TIMEOUT)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.loader import load_module

from agentbook.backtest import features
from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.features import CALL_SUPPORT, quoted_contrast
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import score

from .dev_ledger import POOL_TIMEOUT, generate

REPO = Path(__file__).resolve().parents[2]


def test_a_quoted_error_passing_runs_record_as_often_weighs_nothing() -> None:
    """Per analyst term naming a trace's error: 0 when passing runs' traces record it as often (tested,
    not enriched), its lift when failures record it clearly more often, 1 when no passing run records it
    or no trace records it at all; a pair weighs no more than its words; fields and trace terms untouched."""
    terms = ["queuepool", "queuepool limit", "column", "column missing", "rare", "timeout column", "stage_data",
             "trace:queuepool", "errclass_timeout"]
    harmless = {"trace:queuepool", "trace:queuepool limit", "trace:errclass_timeout"}
    cause = {"trace:column", "trace:column missing"}
    seen = [frozenset(harmless | cause)] * 10 + [frozenset(harmless)] * 10 + [frozenset(cause)] * 10 + [frozenset()] * 10
    passing = [frozenset(harmless)] * 38 + [frozenset({"trace:column", "trace:rare"})] * 2 + [frozenset()] * 35
    weights = dict(zip(terms, quoted_contrast(terms, seen, passing).tolist(), strict=True))
    assert weights["queuepool"] == 0.0 and weights["queuepool limit"] == 0.0 and weights["errclass_timeout"] == 0.0
    assert weights["column"] == pytest.approx(1 - (2 / 75) / (20 / 40)) and weights["column missing"] == weights["column"]
    assert weights["rare"] == 1.0  # no failure's trace records it: the analyst's own word
    assert weights["timeout column"] == pytest.approx(weights["column"])  # no more than its words
    assert weights["stage_data"] == 1.0 and weights["trace:queuepool"] == 1.0  # passing_contrast's business
    # too few failures to test: the lift alone
    few = [frozenset({"trace:queuepool"})] * (CALL_SUPPORT - 1) + [frozenset()] * 30
    once = [frozenset({"trace:queuepool"})] + [frozenset()] * 74
    assert quoted_contrast(["queuepool"], few, once)[0] == pytest.approx(1 - (1 / 75) / ((CALL_SUPPORT - 1) / 32))
    assert quoted_contrast(terms, seen, []).tolist() == [1.0] * len(terms)  # no passing run: nothing to tell


def _quoting(tmp: Path, seed: int) -> tuple[Path, dict[str, dict[str, object]]]:
    src, folder = tmp / "src", tmp / "bt"
    generate(src, seed=seed, benign=False)  # measured before the benign content (test_cluster_content.py)
    import_backtest(src / "manifest.jsonl", folder)
    load_module(REPO / "examples" / "support-agent" / "generate.py", "quoted_support").write_analyses(
        folder, src / "quoting.jsonl")
    planted = {r["id"]: r for r in map(json.loads, (src / "planted.jsonl").read_text().splitlines())}
    quoted = {r["id"]: r for r in map(json.loads, (src / "quoting.jsonl").read_text().splitlines())}
    return folder, {i: {**planted[i], "quoted": quoted[i]["error_signature"]} for i in quoted}


@pytest.mark.usefixtures("default_meaning")
def test_a_harmless_error_quoted_binds_no_cohort_and_says_why(tmp_path: Path) -> None:
    """dev_ledger.py seed 32, quoting analysts, the default clustering (meaning, trace calls): a third of the
    failures, causeless ones too, quote the pool timeout; it bound 26 failures of five causes and five
    causeless ones into one cohort (purity 0.61, causeless kept out 0.37, ARI 0.26) until the analysts'
    words naming it were weighed by passing runs' traces. Each cohort says what its members wrote that
    binds nothing, and no cohort is named after it."""
    folder, truth = _quoting(tmp_path, 32)
    causeless = [i for i, r in truth.items() if r["cause"] is None]
    assert sum(r["quoted"] == POOL_TIMEOUT for r in truth.values() if r["cause"] is None) >= 5
    assert sum(r["quoted"] == POOL_TIMEOUT for r in truth.values() if r["cause"]) >= 10
    summary = cluster_backtest(str(folder), seed=0)
    cohorts = [c["members"] for c in summary.cohorts]
    q = score(cohorts, {i: r["cause"] for i, r in truth.items()})  # type: ignore[misc]
    print(f"\ndev-ledger seed 32 quoting, quoted_contrast {features.QUOTED_CONTRAST}: {q.to_json()}")
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.9, q.to_json()
    assert q.purity >= 0.95 and q.ari >= 0.8, q.to_json()
    assert len(causeless) == 19
    assert not any(c["name"].startswith("QueuePool") for c in summary.cohorts)
    unbound = [u for c in summary.cohorts for u in c["evidence"].get("unbound", [])]
    assert unbound and all(u["weight"] == 0.0 and u["passing_traces"] > 0.2 for u in unbound), unbound
    assert any("queuepool" in u["term"] or "overflow" in u["term"] for u in unbound), unbound
    bucket = (folder / "cohorts" / "no-common-cause.md").read_text()
    assert "binding nothing (runs that went right record it as often)" in bucket
