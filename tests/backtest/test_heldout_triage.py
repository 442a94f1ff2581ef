"""The seventh held-out backtest (heldout_triage.py: a symptom-triage chat agent for telehealth clinics,
in English and Portuguese, recorded as Pydantic AI message histories), written apart from the clustering
work and never tuned on.

Issue 14's targets: each cause with >= 5 failures one cohort with purity and recall >= 0.8, >= 70% of
causeless failures kept out of cause cohorts, ARI >= 0.8 with file-reading analysts and >= 0.6 with
templated ones. Measured once, on main at 604bdc6 (bench/bench_cluster_quality.py --seeds 3 --only
heldout-triage, meaning on (WordLlama), seeds 171-173; seed 171 is this test's), short of every target:

- quoting analysts (file-reading): ARI 0.472 / 0.717 / 0.578, below the fingerprint partition (0.861 /
  0.808 / 0.777) and words alone (0.622 / 0.755 / 0.584); purity 0.75-0.79, min main-cause recall 0.21 /
  0.42 / 0.32 (late-red-flag: its quotes are the patient's last message, four red flags in two languages
  sharing no words), causeless kept out 0.29 / 0.38 / 0.76. Quoted tool arguments of two causes (an age
  in months passed as years, a Fahrenheit temperature passed as Celsius) differ only in their numbers and
  end in one cohort, so the one-network cause is not reported account-specific;
- templated analysts: ARI 0.315 / 0.415 / 0.273 (fingerprint partition 0.577 / 0.567 / 0.371), purity
  0.67-0.77, min main-cause recall 0.32 / 0.36 / 0.21, causeless kept out 0.33 / 0.24 / 0.29: one cause's
  six styles end in separate cohorts.

The floors below sit under seed 171's figures with a margin for noise; they are not the targets."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agentbook.backtest.folder import BacktestFolder

from .heldout_invoice import digest, read_planted, regenerated
from .heldout_triage import generate
from .support import analysed, clustered_quality

MAIN_CAUSES = ["fahrenheit-temp", "infant-age-months", "late-red-flag", "slot-retries-exhausted", "unknown-drug"]
SEED = 171


@pytest.fixture(scope="module")
def triage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed(tmp_path_factory.mktemp("triage"), generate, SEED, ("quoting", "templated"))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generator's output alone (no import, no analysis): what the plant tests read."""
    out = tmp_path_factory.mktemp("triage-src")
    generate(out, seed=SEED)
    return out



def test_same_seed_same_bytes(source: Path, tmp_path: Path) -> None:
    again, other = regenerated(generate, tmp_path, SEED)
    assert again == digest(source)
    assert other != digest(source)


def test_generator_plants_skewed_causes_a_local_one_and_causeless_failures(source: Path) -> None:
    planted = read_planted(source)
    causes = Counter(p["cause"] for p in planted if p["cause"])
    assert causes == {"infant-age-months": 26, "late-red-flag": 19, "unknown-drug": 14, "slot-retries-exhausted": 10,
                      "fahrenheit-temp": 7, "wrong-service-slot": 3}
    assert {p["account"] for p in planted if p["cause"] == "fahrenheit-temp"} == {"lakeshore-health"}
    failed = [p for p in planted if p["style"] is not None]
    assert sum(1 for p in failed if p["cause"] is None) / len(failed) >= 0.15
    assert sum(1 for p in planted if p["style"] is None and p["errors"]) >= 10  # harmless retries pass too
    assert {p["language"] for p in failed if p["cause"] == "infant-age-months"} == {"en", "pt"}
    assert len({p["style"] for p in failed}) == 6


def test_pydantic_ai_histories_record_the_causes(triage: Path) -> None:
    planted = {str(p["id"]): p for p in read_planted(triage / "src")}
    for inv in BacktestFolder(triage / "quoting").investigations():
        p, trace = planted[inv.id], inv.path / "trace"
        assert "(pydantic-ai)" in (trace / "README.md").read_text()
        tools = (trace / "tree.txt").read_text()
        if p["cause"] == "slot-retries-exhausted":  # three failed bookings, none that worked
            assert tools.count("find_slot [ERROR]") == 3 and "find_slot [ok]" not in tools, inv.id
        if p["cause"] == "late-red-flag":  # the protocol ran once, before the patient's last message
            assert tools.count("triage_protocol [ok]") == 1, inv.id
        if p["cause"] == "infant-age-months":
            args = [json.loads(a.read_text()) for a in trace.glob("*/*/*-tool-execute_tool-triage_protocol/tool/args.json")]
            opening = next(trace.glob("*/*/messages/*-user.md")).read_text()
            assert any(a["age_years"] >= 12 for a in args) and ("months" in opening or "meses" in opening), inv.id


def test_the_quoting_analyst_quotes_the_history_or_the_review(triage: Path) -> None:
    """What the quoting analyst quotes is in that chat's exported trace or its nurse review, verbatim."""
    by_id = {i.id: i for i in BacktestFolder(triage / "quoting").investigations()}
    for line in (triage / "src" / "quoting.jsonl").read_text().splitlines():
        analysis = json.loads(line)
        if analysis["verdict"] != "wrong":
            continue
        quote = analysis["evidence"][0]["note"]
        inv = by_id[analysis["id"]]
        if analysis["error_signature"]:
            assert quote.rsplit(": ", 1)[-1] in (inv.path / "trace" / "errors.md").read_text(), analysis
        elif analysis["evidence"][0]["path"] == "truth.md":
            assert quote in (inv.path / "truth.md").read_text(), analysis


@pytest.mark.parametrize(("kind", "min_ari", "min_purity"), [("quoting", 0.3, 0.6), ("templated", 0.2, 0.6)])
def test_cohorts_against_the_plant(triage: Path, kind: str, min_ari: float, min_purity: float) -> None:
    q = clustered_quality(triage, kind)
    print(f"\nheld-out triage, {kind} analysts: {q.to_json()}")
    print(f"min main-cause recall {min(q.recall[c] for c in q.main_causes()):.3f}, "
          f"causeless kept out {q.causeless_kept_out}")
    assert sorted(q.main_causes()) == MAIN_CAUSES
    assert q.purity >= min_purity, q.to_json()
    assert q.ari >= min_ari, q.to_json()
