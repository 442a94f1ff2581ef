"""`backtest cluster`, `report` and `compare` on the analysed example backtest (planted causes known)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentbook.backtest.cluster import collect_failures, stability
from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.report import build_report

from .conftest import copy_backtest, planted, rewrite


@pytest.fixture(scope="module")
def clustered(analysed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = copy_backtest(analysed, tmp_path_factory.mktemp("clustered") / "bt")
    cluster_backtest(str(folder))
    build_report(str(folder))
    return folder


def _index(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "cohorts" / "index.json").read_text()))


def purity_and_recall(cohorts: list[dict[str, Any]], truth: dict[str, dict[str, Any]]) -> tuple[float, dict[str, float]]:
    """Purity: share of failures in their cohort's majority cause. Recall per planted cause: the largest
    share of its investigations that one cohort holds."""
    total = sum(c["count"] for c in cohorts)
    purity = sum(Counter(truth[i]["cause"] for i in c["members"]).most_common(1)[0][1] for c in cohorts) / total
    causes = Counter(t["cause"] for t in truth.values() if t["cause"])
    recall = {cause: max(sum(1 for i in c["members"] if truth[i]["cause"] == cause) for c in cohorts) / n
              for cause, n in causes.items()}
    return purity, recall


def test_cohorts_recover_the_planted_causes(clustered: Path, generated: Path) -> None:
    truth = planted(generated)
    index = _index(clustered)
    purity, recall = purity_and_recall(index["cohorts"], truth)
    print(f"\ncohorts: {len(index['cohorts'])}, purity {purity:.3f}, recall by cause "
          + ", ".join(f"{c} {r:.2f}" for c, r in sorted(recall.items()))
          + f", agreement (ARI, seed 0 vs seed 1 on a 90% subsample) {index['agreement_ari']:.3f}")
    assert purity >= 0.9
    assert min(recall.values()) >= 0.8
    assert index["agreement_ari"] >= 0.8
    assert index["failures"] == sum(1 for t in truth.values() if t["cause"]) and not index["unanalysed"]


def test_systemic_and_account_specific_are_told_apart(clustered: Path, generated: Path) -> None:
    truth = planted(generated)
    for cohort in _index(clustered)["cohorts"]:
        cause, _ = Counter(truth[i]["cause"] for i in cohort["members"]).most_common(1)[0]
        planted_scope = truth[next(i for i in cohort["members"] if truth[i]["cause"] == cause)]["scope"]
        expected = "account-specific" if planted_scope == "account" else "systemic"
        assert cohort["scope"] == expected, (cohort["slug"], cause)


def test_cohort_pages_say_what_and_where(clustered: Path) -> None:
    index = _index(clustered)
    pages = sorted(p.name for p in (clustered / "cohorts").glob("*.md"))
    assert pages == sorted(f"{c['slug']}.md" for c in index["cohorts"])
    biggest = index["cohorts"][0]
    text = (clustered / "cohorts" / f"{biggest['slug']}.md").read_text()
    assert "**Definition.**" in text and f"- count: {biggest['count']} failures" in text
    assert "## Suspected code locations" in text and biggest["suspected"][0]["location"] in text
    links = [line.split("](../", 1)[1].split(")", 1)[0] for line in text.splitlines() if "](../" in line]
    assert links and all((clustered / link).is_file() for link in links)


def test_report_lists_accuracy_causes_and_charts(clustered: Path) -> None:
    text = (clustered / "report.md").read_text()
    index = _index(clustered)
    folder = BacktestFolder(clustered)
    correct = sum(1 for i in folder.investigations() if i.correct)
    assert f"**Accuracy: {correct / 200:.1%}** ({correct} of 200 investigations correct" in text
    for cohort in index["cohorts"]:
        assert f"[{cohort['slug']}](cohorts/{cohort['slug']}.md) | {cohort['scope']} | {cohort['count']} |" in text
    assert text.count("- proposed change: ") == min(5, len(index["cohorts"]))
    assert "| northwind |" in text
    for chart in ("charts/accuracy-by-account.png", "charts/cohort-sizes.png"):
        assert (clustered / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({chart})" in text


def test_clustering_is_stable_under_order_and_subsampling(analysed: Path) -> None:
    failures, _ = collect_failures(BacktestFolder(analysed))
    scores = [stability(failures, (a, a + 1)) for a in (0, 5, 11)]
    print(f"\nARI across seed pairs: {[round(s, 3) for s in scores]}")
    assert min(scores) >= 0.8


def _flip(folder: Path, inv_id: str, verdict: str) -> None:
    meta_path = next(folder.glob(f"investigations/*/{inv_id}/meta.yaml"))
    meta = yaml.safe_load(meta_path.read_text())
    meta["verdict"] = verdict
    rewrite(meta_path, yaml.safe_dump(meta, sort_keys=False))


def test_compare_reports_flips_cohorts_and_accounts(clustered: Path, tmp_path: Path,
                                                    run_cli: Callable[..., Any], generated: Path) -> None:
    truth = planted(generated)
    after = copy_backtest(clustered, tmp_path / "after")
    fixed = sorted(i for i, t in truth.items() if t["cause"] == "loki-timeout")[:3]
    broken = sorted(i for i, t in truth.items() if t["cause"] is None and t["account"] == "acme")[:2]
    for inv_id in fixed:
        _flip(after, inv_id, "correct")
        next(after.glob(f"investigations/*/{inv_id}/analysis.json")).unlink()
    for inv_id in broken:
        _flip(after, inv_id, "wrong")
    shutil.rmtree(after / "cohorts")
    cluster_backtest(str(after))
    result = run_cli("backtest", "compare", clustered, after, "--json")
    assert result.code == 1, result.err
    out = json.loads(result.out)
    assert out["fixed"] == fixed and out["broken"] == broken
    loki = next(c for c in out["cohorts"] if c["slug"].startswith("retrieval-loki"))
    assert loki["delta"] == -3
    assert [r["account"] for r in out["regressed_accounts"]] == ["acme"]
    text = run_cli("backtest", "compare", clustered, after).out
    assert f"now wrong (were correct): 2: {', '.join(broken)}" in text and "accounts that regressed:" in text


def test_cli_json_and_bounded_text(analysed: Path, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    folder = copy_backtest(analysed, tmp_path / "bt")
    result = run_cli("backtest", "cluster", folder, "--json")
    assert result.code == 0, result.err
    cohorts = json.loads(result.out)["cohorts"]
    assert [c["count"] for c in cohorts] == sorted((c["count"] for c in cohorts), reverse=True)
    result = run_cli("backtest", "report", folder, "--json", "--no-charts")
    report = json.loads(result.out)
    assert result.code == 0 and report["total"] == 200 and report["charts"] == []
    assert report["accuracy"] == round(report["correct"] / 200, 4)
    text = run_cli("backtest", "cluster", folder)
    assert text.code == 0 and len(text.out) < 4000
    assert text.out.splitlines()[0].startswith(f"{sum(c['count'] for c in cohorts)} analysed failures in "
                                               f"{len(cohorts)} cohorts (agreement between two runs: ARI ")
    result = run_cli("backtest", "report", tmp_path / "nope")
    assert result.code == 3 and "not a backtest folder" in result.err


def test_example_model_pass_names_every_planted_cause(analysed: Path, tmp_path: Path, generated: Path) -> None:
    from .conftest import SCRIPTED

    folder = copy_backtest(analysed, tmp_path / "bt")
    summary = cluster_backtest(str(folder), model=SCRIPTED)
    truth = planted(generated)
    named = {c["slug"]: Counter(truth[i]["cause"] for i in c["members"]) for c in summary.cohorts}
    assert {slug: dict(causes) for slug, causes in named.items()} == {
        "logql-filter-without-parser": {"logql-missing-parser": 18},
        "root-cause-anchors-on-first-line": {"anchors-on-first-error": 18},
        "loki-timeout-on-long-ranges": {"loki-timeout": 17},
        "tenant-stream-label-mismatch": {"umbrella-app-label": 7},
        "tenant-log-timezone-skew": {"northwind-clock-skew": 5}}
    assert summary.refine_note == "" and summary.refined_by == SCRIPTED


def test_report_lists_verdicts_the_analysts_dispute(analysed: Path, tmp_path: Path, generated: Path) -> None:
    folder = copy_backtest(analysed, tmp_path / "bt")
    truth = planted(generated)
    scored_wrong = sorted(i for i, t in truth.items() if t["cause"] is None)[:2]  # the analyst said correct
    for inv_id in scored_wrong:
        _flip(folder, inv_id, "wrong")
    summary = build_report(str(folder), charts=False)
    assert [Path(rel).name for rel in summary.disputed] == sorted(scored_wrong, key=lambda i: (truth[i]["account"], i))
    text = (folder / "report.md").read_text()
    assert "## Verdicts the analysts dispute" in text and f"/{scored_wrong[0]}/analysis.md)" in text
    assert build_report(str(analysed), charts=False).disputed == []
