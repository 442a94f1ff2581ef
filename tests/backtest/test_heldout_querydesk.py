"""The eighth held-out backtest (heldout_querydesk.py: a SQL data-analyst agent traced with Arize Phoenix,
OpenInference span JSON), written apart from the clustering work and never tuned on. These tests check
the plant only (what was planted, that the same seed writes the same bytes, that agentbook reads every
trace); how well `backtest cluster` recovers it is bench/bench_cluster_quality.py's heldout-querydesk row."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agentbook.backtest.folder import BacktestFolder

from .heldout_invoice import digest, read_planted, regenerated
from .heldout_querydesk import generate
from .support import imported_with_analyses

SEED = 231


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("querydesk-src")
    generate(out, seed=SEED)
    return out



def test_same_seed_same_bytes(source: Path, tmp_path: Path) -> None:
    again, other = regenerated(generate, tmp_path, SEED)
    assert again == digest(source)
    assert other != digest(source)


def test_generator_plants_skewed_causes_a_local_one_and_causeless_failures(source: Path) -> None:
    planted = read_planted(source)
    assert len(planted) == 150
    causes = Counter(p["cause"] for p in planted if p["cause"])
    assert causes == {"fiscal-quarter": 24, "join-fanout": 18, "stale-snapshot": 13, "timeout-sampled": 9,
                      "minor-units": 6}
    assert {p["account"] for p in planted if p["cause"] == "minor-units"} == {"nordhavn-retail"}
    failed = [p for p in planted if p["style"] is not None]
    assert 0.15 <= sum(1 for p in failed if p["cause"] is None) / len(failed) <= 0.2
    assert sum(1 for p in planted if p["style"] is None and p["errors"]) >= 5  # harmless retries pass too
    assert len({p["style"] for p in failed}) == 6
    kinds = {json.loads(line)["id"]: json.loads(line)["verdict"] for line in (source / "quoting.jsonl").read_text().splitlines()}
    assert {i for i, v in kinds.items() if v == "wrong"} == {p["id"] for p in failed}


def test_agentbook_reads_every_trace_and_the_causes_are_in_it(source: Path, tmp_path: Path) -> None:
    imported_with_analyses(source, tmp_path / "bt")  # both analysts' records pass agentbook's analysis schema
    planted = {str(p["id"]): p for p in read_planted(source)}
    investigations = list(BacktestFolder(tmp_path / "bt").investigations())
    assert {i.id for i in investigations} == set(planted)
    for inv in investigations:
        p, trace = planted[inv.id], inv.path / "trace"
        assert "(openinference)" in (trace / "README.md").read_text(), inv.id
        tree = (trace / "tree.txt").read_text()
        assert tree.count("run_sql") >= 1 and "schema_search" in tree, inv.id
        if p["cause"] == "timeout-sampled":  # two timeouts, then the sampled query
            assert (trace / "errors.md").read_text().count("statement timeout") >= 2, inv.id
        if p["cause"] == "stale-snapshot":
            assert "sales_daily_v1" in json.loads((source / "traces" / f"{inv.id}.json").read_text())[-2]["attributes"]["input.value"]
