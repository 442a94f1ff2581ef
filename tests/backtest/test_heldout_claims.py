"""The fourth held-out backtest (heldout_claims.py: an insurance claims agent traced with Langfuse),
written apart from the clustering work and never tuned on.

Measured once when it was written (bench_cluster_quality, seeds 61-63, with meaning): quoting analysts
ARI 0.889-0.935 (words alone 0.971-0.990), templated analysts ARI 0.721-0.904; cohorts pure (0.94+) and
causeless failures mostly kept out (0.79-1.00). What does not hold is recall: the smallest causes'
phrasings stay apart (min recall 0.33 templated, 0.57 quoting), so it is printed, not asserted."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agentbook.backtest.folder import BacktestFolder

from .heldout_claims import generate
from .support import analysed, clustered_quality

MAIN_CAUSES = ["double-deduct", "fraud-timeout", "multi-policy", "us-dates", "water-as-flood"]


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed(tmp_path_factory.mktemp("claims"), generate, 61, ("quoting", "templated"))


def test_generator_plants_langfuse_traces_and_a_local_cause(claims: Path) -> None:
    planted = [json.loads(line) for line in (claims / "src" / "planted.jsonl").read_text().splitlines()]
    causes = Counter(p["cause"] for p in planted if p["cause"])
    assert causes == {"multi-policy": 23, "fraud-timeout": 15, "water-as-flood": 11, "us-dates": 7,
                      "double-deduct": 6, "ocr-cut": 2}
    assert {p["account"] for p in planted if p["cause"] == "us-dates"} == {"meridian"}
    assert sum(1 for p in planted if p["noise"] is not None) == 19
    inv = next(i for i in BacktestFolder(claims / "quoting").investigations()
               if next(p for p in planted if p["id"] == i.id)["cause"] == "fraud-timeout")
    readme = (inv.path / "trace" / "README.md").read_text()
    assert "(langfuse)" in readme
    assert "fraud.score" in (inv.path / "trace" / "errors.md").read_text()


@pytest.mark.parametrize(("kind", "min_ari"), [("quoting", 0.8), ("templated", 0.6)])
def test_analysts_keep_cohorts_pure_and_meet_the_ari(claims: Path, kind: str, min_ari: float) -> None:
    q = clustered_quality(claims, kind)
    print(f"\nheld-out claims, {kind} analysts: {q.to_json()}")
    assert sorted(q.main_causes()) == MAIN_CAUSES
    assert q.purity >= 0.9, q.to_json()
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.7, q.to_json()
    assert q.ari >= min_ari, q.to_json()
