"""The sixth held-out backtest (heldout_invoice.py: an accounts-payable pipeline reading supplier invoices,
traced with LangSmith), written apart from the clustering work and never tuned on.

Issue 14's targets: each cause with >= 5 failures one cohort with purity and recall >= 0.8, >= 70% of
causeless failures kept out of cause cohorts, ARI >= 0.8 with file-reading analysts and >= 0.6 with
templated ones. Measured once, on main at 604bdc6 (bench/bench_cluster_quality.py --seeds 3 --only
heldout-invoice, meaning on (WordLlama), seeds 141-143; seed 141 is this test's):

- templated analysts: ARI 0.891 / 0.892 / 0.845, purity 0.87-0.95, min main-cause recall 0.71 / 0.86 /
  0.71, min cause purity 1.00 / 0.70 / 0.95, causeless kept out 0.70 / 0.50 / 0.30: ARI meets the
  target; recall, cause purity and keeping causeless failures out do not on every seed;
- the scripted file-reading analyst: ARI 0.266 / 0.277 / 0.221 (the fingerprint partition 0.229 / 0.207 /
  0.175, words alone 0.450 / 0.360 / 0.171), purity 0.59-0.64, min main-cause recall 0.21 / 0.36 / 0.43,
  causeless kept out 0.15 / 0.15 / 0.35: short of every target. It quotes the run's first error (a harmless
  retried throttle or timeout in about one failure in six: every quoted error, whatever its cause, lands in
  one cohort with the validator's timeouts) or the clerk's note (three wordings per cause sharing few
  words, which the cohorts follow).

The floors below sit under seed 141's figures with a margin for noise; they are not the targets, which
the file-reading row misses by far."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest

from .heldout_invoice import digest, generate, read_planted, regenerated
from .support import clustered_quality, support_generator

MAIN_CAUSES = ["credit-note-sign", "decimal-comma", "po-tolerance", "validator-timeout", "vendor-lookalike"]
SEED = 141


@pytest.fixture(scope="module")
def invoice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The backtest imported twice: analysed by the scripted file-reading analyst through `analyze`
    (`scripted/`), and holding the templated analyses (`templated/`)."""
    root = tmp_path_factory.mktemp("invoice")
    generate(root / "src", seed=SEED)
    import_backtest(root / "src" / "manifest.jsonl", root / "scripted")
    shutil.copytree(root / "scripted", root / "templated")
    summary = analyze_backtest(root / "scripted", AnalyzeOptions(
        model=f"scripted:{root / 'src' / 'analyst.script.yaml'}", progress=False))
    assert summary.done == 221 and not summary.failed, summary.to_json()
    support_generator().write_analyses(root / "templated", root / "src" / "templated.jsonl")
    return root


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generator's output alone (no import, no analysis): what the plant tests read."""
    out = tmp_path_factory.mktemp("invoice-src")
    generate(out, seed=SEED)
    return out



def test_same_seed_same_bytes(source: Path, tmp_path: Path) -> None:
    again, other = regenerated(generate, tmp_path, SEED)
    assert again == digest(source)
    assert other != digest(source)


def test_generator_plants_skewed_causes_a_local_one_and_causeless_failures(source: Path) -> None:
    planted = read_planted(source)
    causes = Counter(p["cause"] for p in planted if p["cause"])
    assert causes == {"decimal-comma": 30, "po-tolerance": 19, "vendor-lookalike": 14, "validator-timeout": 10,
                      "credit-note-sign": 7, "currency-default": 3}
    assert {p["account"] for p in planted if p["cause"] == "credit-note-sign"} == {"halden-marine"}
    failed = [p for p in planted if p["cause"] or p["noise"] is not None]
    assert sum(1 for p in failed if p["cause"] is None) / len(failed) >= 0.15
    passing = [p for p in planted if p["style"] is None]
    assert sum(1 for p in passing if p["first_error"]) >= 10  # harmless retried errors in passing runs too
    assert len({p["style"] for p in failed}) == 6


def test_langsmith_traces_record_the_causes_as_data(invoice: Path) -> None:
    planted = {str(p["id"]): p for p in read_planted(invoice / "src")}
    by_id = {i.id: i for i in BacktestFolder(invoice / "templated").investigations()}
    seen: Counter[str] = Counter()
    for inv_id, p in planted.items():
        trace = by_id[inv_id].path / "trace"
        if p["cause"] == "decimal-comma":  # the extractor's gross is not what the OCR text prints
            assert "(langsmith)" in (trace / "README.md").read_text()
            fields = json.loads(next(trace.glob("*/*-chain-extract/output.md")).read_text().split("\n\n", 1)[1])
            ocr = next(trace.glob("*/*-chain-ocr/*-tool-textract_analyze/tool/result.txt")).read_text()
            assert f"{fields['fields']['total_gross']:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") \
                not in ocr
            seen["decimal-comma"] += 1
        if p["cause"] == "validator-timeout":
            assert "APITimeoutError" in (trace / "errors.md").read_text()
            seen["validator-timeout"] += 1
    assert seen == {"decimal-comma": 30, "validator-timeout": 10}


def test_the_scripted_analyst_reports_what_it_read(invoice: Path) -> None:
    """Each finding of the file-reading analyst quotes the run's first error, its PO block reason or the
    clerk's note: read from that investigation's files, not from the plant."""
    for inv in BacktestFolder(invoice / "scripted").investigations():
        if inv.correct:
            continue
        analysis = json.loads((inv.path / "analysis.json").read_text())
        errors = (inv.path / "trace" / "errors.md").read_text()
        if analysis["error_signature"]:
            assert analysis["error_signature"] in errors, inv.id
        elif "PO match returned" in analysis["failure_mode"]:
            assert "Failed spans" not in errors
        else:
            note = (inv.path / "truth.md").read_text().strip().splitlines()[-1]
            assert note in analysis["failure_mode"], inv.id


@pytest.mark.parametrize(("kind", "min_ari", "min_purity"), [("scripted", 0.15, 0.5), ("templated", 0.75, 0.85)])
def test_cohorts_against_the_plant(invoice: Path, kind: str, min_ari: float, min_purity: float) -> None:
    q = clustered_quality(invoice, kind)
    print(f"\nheld-out invoice, {kind} analysts: {q.to_json()}")
    print(f"min main-cause recall {min(q.recall[c] for c in q.main_causes()):.3f}, "
          f"causeless kept out {q.causeless_kept_out}")
    assert sorted(q.main_causes()) == MAIN_CAUSES
    assert q.purity >= min_purity, q.to_json()
    assert q.ari >= min_ari, q.to_json()
