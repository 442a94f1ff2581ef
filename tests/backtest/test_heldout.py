"""A held-out backtest (heldout_coding.py: a coding agent's runs) that clustering was never tuned on.

It reports whether the issue's figures hold beyond the example generators. Quoting analysts (each
analysis quotes its run's own error or reviewer note) meet them on seed 5; templated analysts (three
framings, a few phrasings per cause) get pure cohorts and causeless failures kept out. On words alone
a cause's phrasings that share no content word stay apart (recall 0.33-0.44, ARI 0.58-0.63 over
seeds 5-7); with the findings' meaning (backtest/embeddings.py) most join (bench_cluster_quality,
seeds 1-3: ARI min 0.754, median 0.99, min recall 0.56), so only what holds on every seed is asserted."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from .heldout_coding import generate
from .support import analysed, clustered_quality


@pytest.fixture(scope="module")
def heldout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed(tmp_path_factory.mktemp("heldout"), generate, 5, ("quoting", "templated"))


def test_generator_plants_other_causes_at_other_rates(heldout: Path) -> None:
    planted = [json.loads(line) for line in (heldout / "src" / "planted.jsonl").read_text().splitlines()]
    causes = Counter(p["cause"] for p in planted if p["cause"])
    assert causes == {"dependency-conflict": 18, "wrong-test-target": 9, "offline-sandbox": 7, "hunk-rejected": 5}
    assert {p["account"] for p in planted if p["cause"] == "offline-sandbox"} == {"tidewater"}
    assert sum(1 for p in planted if p["noise"] is not None) == 21
    quoted = [json.loads(line) for line in (heldout / "src" / "quoting.jsonl").read_text().splitlines()]
    deps = {a["error_signature"].split(":")[0][:12] for a in quoted
            if next(p for p in planted if p["id"] == a["id"])["cause"] == "dependency-conflict"}
    assert len(deps) >= 3  # one cause, several wordings


def test_quoting_analysts_meet_the_figures(heldout: Path) -> None:
    q = clustered_quality(heldout, "quoting")
    print(f"\nheld-out, quoting analysts: {q.to_json()}")
    assert sorted(q.main_causes()) == ["dependency-conflict", "hunk-rejected", "offline-sandbox", "wrong-test-target"]
    for cause in q.main_causes():
        assert q.recall[cause] >= 0.8 and q.cause_purity[cause] >= 0.8, (cause, q.to_json())
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.7
    assert q.ari >= 0.8


def test_templated_analysts_keep_cohorts_pure_and_causeless_failures_out(heldout: Path) -> None:
    q = clustered_quality(heldout, "templated")
    print(f"\nheld-out, templated analysts: {q.to_json()}")
    assert all(q.cause_purity[c] >= 0.9 for c in q.main_causes()), q.to_json()
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.7
