"""The fifth held-out backtest (heldout_dispatch.py: a freight dispatch planner of four agents handing work
to each other, traced with the OpenAI Agents SDK), written apart from the clustering work and never tuned on.

Measured once when it was written (tests/backtest/support.py's harness, meaning on (WordLlama), seeds 81-83,
main at ed1028b): quoting analysts ARI 0.835 / 0.939 / 0.878, purity 0.80-0.86, every main cause's recall
0.83-1.00, but causeless failures kept out only 0.09 / 0.18 / 0.36 (their quotes are the same harmless
timeouts and reviewer notes the causes' runs quote); templated analysts ARI 0.715 / 0.820 / 0.826, purity
0.85-0.88, min main-cause recall 0.67 / 0.67 / 0.83 (double-booking, pounds-as-kilos), causeless kept out
0.59 / 0.27 / 0.27. So what holds is ARI and purity; recall and keeping causeless failures out do not, and
are printed, not asserted."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agentbook.backtest.folder import BacktestFolder

from .heldout_dispatch import digest, generate
from .support import analysed, clustered_quality

MAIN_CAUSES = ["double-booking", "dropped-constraint", "pounds-as-kilos", "stale-fuel-index", "utc-dock-slot"]


@pytest.fixture(scope="module")
def dispatch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed(tmp_path_factory.mktemp("dispatch"), generate, 81, ("quoting", "templated"))


def _planted(root: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (root / "src" / "planted.jsonl").read_text().splitlines()]


def test_same_seed_same_bytes(dispatch: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", seed=81)
    assert digest(tmp_path / "again") == digest(dispatch / "src")
    generate(tmp_path / "other", seed=82)
    assert digest(tmp_path / "other") != digest(dispatch / "src")


def test_generator_plants_agents_sdk_traces_and_a_local_cause(dispatch: Path) -> None:
    planted = _planted(dispatch)
    causes = Counter(p["cause"] for p in planted if p["cause"])
    assert causes == {"dropped-constraint": 27, "utc-dock-slot": 18, "stale-fuel-index": 13, "double-booking": 9,
                      "pounds-as-kilos": 6, "holiday-eta": 3}
    assert {p["account"] for p in planted if p["cause"] == "pounds-as-kilos"} == {"nordfrost"}
    assert sum(1 for p in planted if p["noise"] is not None) == 22
    by_id = {i.id: i for i in BacktestFolder(dispatch / "quoting").investigations()}
    double = next(by_id[str(p["id"])] for p in planted if p["cause"] == "double-booking")
    assert "(openai-agents)" in (double.path / "trace" / "README.md").read_text()
    errors = (double.path / "trace" / "errors.md").read_text()
    assert "ReadTimeout: TMS did not answer" in errors and "runs again after a failed span" in errors
    for p in planted:  # the dropped constraint: the order names a handling, the truck search asks for none
        if p["cause"] == "dropped-constraint":
            trace = by_id[str(p["id"])].path / "trace"
            order = json.loads(next(trace.glob("*/*-function-lookup_order/tool/result.txt")).read_text())
            search = json.loads(next(trace.glob("*/*-function-find_carriers/tool/args.json")).read_text())
            assert order["handling"] and search["equipment"] == "dry_van", p["id"]


def test_every_cited_span_is_in_the_exported_trace(dispatch: Path) -> None:
    by_id = {i.id: i for i in BacktestFolder(dispatch / "templated").investigations()}
    for kind in ("quoting", "templated"):
        for line in (dispatch / "src" / f"{kind}.jsonl").read_text().splitlines():
            analysis = json.loads(line)
            if step := analysis["first_wrong_step"]:
                assert (by_id[analysis["id"]].path / step["span_path"]).exists(), (kind, analysis["id"], step)


@pytest.mark.parametrize(("kind", "min_ari", "min_purity"), [("quoting", 0.8, 0.8), ("templated", 0.6, 0.85)])
def test_analysts_keep_cohorts_pure_and_meet_the_ari(dispatch: Path, kind: str, min_ari: float,
                                                     min_purity: float) -> None:
    q = clustered_quality(dispatch, kind)
    print(f"\nheld-out dispatch, {kind} analysts: {q.to_json()}")
    print(f"not asserted: min main-cause recall {min(q.recall[c] for c in q.main_causes()):.3f}, "
          f"causeless kept out {q.causeless_kept_out}")
    assert sorted(q.main_causes()) == MAIN_CAUSES
    assert q.purity >= min_purity, q.to_json()
    assert q.ari >= min_ari, q.to_json()
