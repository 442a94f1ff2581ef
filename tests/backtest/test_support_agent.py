"""The second example backtest: a support agent's, generated independently of the incident assistant's."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest
from agentbook.backtest.quality import score
from agentbook.backtest.report import build_report

from .conftest import copy_backtest, rewrite
from .support import SUPPORT_ANALYST, SUPPORT_CODE, support_generator, support_planted


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("support-src")
    support_generator().generate(out, seed=11)
    return out


def test_plants_the_issue_shares_with_causeless_failures(source: Path) -> None:
    truth = support_planted(source)
    assert len(truth) == 150 and len({t["account"] for t in truth.values()}) == 6
    causes = Counter(t["cause"] for t in truth.values() if t["cause"])
    assert causes == {"crm-timeout": 20, "stale-refund-policy": 10, "sek-vat-pricing": 5, "invented-plan": 2}
    noise = [t for t in truth.values() if t["noise"] is not None]
    assert len(noise) == 27 and len({t["noise"] for t in noise}) == 27  # no two share a problem
    assert {t["account"] for t in truth.values() if t["cause"] == "sek-vat-pricing"} == {"lindqvist"}
    manifest = [json.loads(line) for line in (source / "manifest.jsonl").read_text().splitlines()]
    assert sum(m["verdict"] == "wrong" for m in manifest) == 64


def test_one_cause_is_worded_several_ways(source: Path) -> None:
    truth = support_planted(source)
    errors = set()
    for inv_id, t in truth.items():
        if t["cause"] == "crm-timeout":
            spans = json.loads((source / "traces" / f"{inv_id}.json").read_text())["resourceSpans"][0]
            msg = next(s["status"]["message"] for s in spans["scopeSpans"][0]["spans"] if s["status"]["code"] == 2)
            errors.add(msg.split(":")[0][:20])
    assert len(errors) >= 4


def test_same_seed_same_bytes_other_seed_other_plant(tmp_path: Path, source: Path) -> None:
    gen = support_generator()
    gen.generate(tmp_path / "a", seed=11)
    gen.generate(tmp_path / "b", seed=12)
    assert gen.digest(tmp_path / "a") == gen.digest(source) != gen.digest(tmp_path / "b")


@pytest.fixture(scope="module")
def imported_support(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("support-imported") / "bt"
    import_backtest(source / "manifest.jsonl", out)
    return out


@pytest.fixture(scope="module")
def read_support(imported_support: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Analysed by the scripted analyst that reads each trace."""
    out = copy_backtest(imported_support, tmp_path_factory.mktemp("support-read") / "bt")
    summary = analyze_backtest(out, AnalyzeOptions(model=SUPPORT_ANALYST, progress=False))
    assert summary.done == 150 and not summary.failed
    return out


def _cohort_quality(folder: Path, source: Path) -> tuple[dict[str, object], object]:
    index = json.loads((folder / "cohorts" / "index.json").read_text())
    failed = {i.id for i in BacktestFolder(folder).investigations() if not i.correct}
    truth = {i: t["cause"] for i, t in support_planted(source).items() if i in failed}
    return index, score([c["members"] for c in index["cohorts"]], truth)


def test_file_reading_analyst_reports_what_the_trace_holds(read_support: Path, source: Path) -> None:
    out = read_support
    truth = support_planted(source)
    for inv in BacktestFolder(out).investigations():
        analysis = inv.analysis()
        assert analysis is not None
        cause = truth[inv.id]["cause"]
        if inv.correct:
            assert analysis["verdict"] == "correct"
        elif cause == "crm-timeout":  # the error as this trace worded it, verbatim
            errors_md = (inv.path / "trace" / "errors.md").read_text()
            assert analysis["error_signature"] in errors_md and "crm.get_customer" in analysis["failure_mode"]
        elif cause == "stale-refund-policy":
            assert analysis["stage"] == "retrieval" and "archived article" in analysis["failure_mode"]
        elif cause == "sek-vat-pricing":
            note = (inv.path / "truth.md").read_text().split("Reviewer note: ")[1].strip()
            assert analysis["failure_mode"].endswith(note)


def test_templated_analyses_are_stored_like_an_analyst_wrote_them(source: Path, imported_support: Path,
                                                                   tmp_path: Path) -> None:
    out = copy_backtest(imported_support, tmp_path / "bt")
    assert support_generator().write_analyses(out, source / "templated.jsonl") == 64
    folder = BacktestFolder(out)
    wrong = [i for i in folder.investigations() if not i.correct]
    assert all(i.analysis() is not None and (i.path / "analysis.md").is_file() for i in wrong)
    modes = {str((i.analysis() or {})["failure_mode"]) for i in wrong
             if support_planted(source)[i.id]["cause"] == "crm-timeout"}
    assert len(modes) >= 5  # several phrasings and styles for one cause


def test_cohorts_hold_on_a_backtest_nobody_tuned_for(read_support: Path, source: Path, tmp_path: Path) -> None:
    """The issue's figures with analysts that read the files: each cause with >= 5 failures is one
    cohort (purity and recall >= 0.8), >= 70% of causeless failures stay out, ARI >= 0.8."""
    folder = copy_backtest(read_support, tmp_path / "bt")
    summary = cluster_backtest(str(folder), code=str(SUPPORT_CODE))
    index, q = _cohort_quality(folder, source)
    print(f"\nfile-reading analysts: {q.to_json()}")
    assert sorted(q.main_causes()) == ["crm-timeout", "sek-vat-pricing", "stale-refund-policy"]
    for cause in q.main_causes():
        assert q.recall[cause] >= 0.8 and q.cause_purity[cause] >= 0.8, (cause, q.to_json())
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.7
    assert q.ari >= 0.8
    assert index["no_common_cause"]["count"] == len(summary.no_common_cause) >= 19
    assert (folder / "cohorts" / "no-common-cause.md").is_file()


def test_cohort_pages_state_evidence_medoid_scope_test_and_real_code(read_support: Path, source: Path,
                                                                   tmp_path: Path) -> None:
    folder = copy_backtest(read_support, tmp_path / "bt")
    cluster_backtest(str(folder), code=str(SUPPORT_CODE))
    index, _ = _cohort_quality(folder, source)
    truth = support_planted(source)
    for cohort in index["cohorts"]:
        causes = Counter(truth[m]["cause"] for m in cohort["members"])
        cause = causes.most_common(1)[0][0]
        assert truth[cohort["medoid"]]["cause"] == cause  # the summary comes from a member of the cause
        assert cohort["evidence"]["terms"] and cohort["evidence"]["fields"]
        for loc in cohort["suspected"]:  # only locations that exist in --code are offered as where to fix
            path = loc["location"].partition(":")[0]
            assert (SUPPORT_CODE / path).is_file() and loc["exists"] is True
        expected = "account-specific" if cause == "sek-vat-pricing" else None
        if expected:
            assert cohort["scope"] == expected and cohort["account_test"]["account"] == "lindqvist"
            assert cohort["account_test"]["p_adjusted"] < 0.01
        else:
            assert cohort["scope"] != "account-specific", cohort["account_test"]
    crm = next(c for c in index["cohorts"] if truth[c["medoid"]]["cause"] == "crm-timeout")
    text = (folder / "cohorts" / f"{crm['slug']}.md").read_text()
    assert "- bound by: terms " in text and f"Failures like {crm['medoid']}" in text
    assert "support_agent/tools/crm.py" in crm["proposed_change"]
    # analysts cite tools/<module>.py for every failing tool; most of those files do not exist
    missing = [loc for c in index["cohorts"] for loc in c["missing_locations"]]
    assert all(not (SUPPORT_CODE / loc["location"].split(":")[0]).exists() for loc in missing)


def test_cited_locations_outside_the_code_are_never_listed(read_support: Path, tmp_path: Path,
                                                           run_cli: Callable[..., Any]) -> None:
    folder = copy_backtest(read_support, tmp_path / "bt")
    (tmp_path / "code").mkdir()
    (tmp_path / "outside.py").write_text("x = 1\n")
    (tmp_path / "code" / "support_agent").mkdir()
    (tmp_path / "code" / "support_agent" / "retrieval.py").symlink_to(tmp_path / "outside.py")
    summary = cluster_backtest(str(folder), code=str(tmp_path / "code"))  # none of the cited files is in it
    assert all(c["suspected"] == [] and c["missing_locations"] for c in summary.cohorts)
    assert all("(at `" not in c["proposed_change"] for c in summary.cohorts)
    result = run_cli("backtest", "cluster", folder, "--code", tmp_path / "nope")
    assert result.code == 3 and "--code is not a folder" in result.err and "Traceback" not in result.err


def _flip(folder: Path, inv_id: str, verdict: str) -> None:
    meta_path = next(folder.glob(f"investigations/*/{inv_id}/meta.yaml"))
    meta = yaml.safe_load(meta_path.read_text())
    meta["verdict"] = verdict
    rewrite(meta_path, yaml.safe_dump(meta, sort_keys=False))


@pytest.mark.usefixtures("default_meaning")
def test_compare_matches_cohorts_by_members_through_a_partial_fix(read_support: Path, source: Path, tmp_path: Path,
                                                                   run_cli: Callable[..., Any]) -> None:
    """Fix 8 of the CRM timeouts (the representative one among them, so the cohort's name and slug may
    change) and break two correct investigations of an account that improves overall."""
    truth = support_planted(source)
    before = copy_backtest(read_support, tmp_path / "a")
    cluster_backtest(str(before), code=str(SUPPORT_CODE))
    index_a = json.loads((before / "cohorts" / "index.json").read_text())
    crm_a = next(c for c in index_a["cohorts"] if truth[c["medoid"]]["cause"] == "crm-timeout")
    crm_ids = sorted(i for i, t in truth.items() if t["cause"] == "crm-timeout")
    fixed = sorted({crm_a["medoid"], *[i for i in crm_ids if i != crm_a["medoid"]][:7]})
    account = Counter(str(truth[i]["account"]) for i in fixed).most_common(1)[0][0]
    broken = sorted(i for i, t in truth.items() if t["account"] == account and not t["cause"]
                    and t["noise"] is None)[:2]
    after = copy_backtest(before, tmp_path / "b")
    for inv_id in fixed:
        _flip(after, inv_id, "correct")
    for inv_id in broken:
        _flip(after, inv_id, "wrong")
    cluster_backtest(str(after), code=str(SUPPORT_CODE))
    result = run_cli("backtest", "compare", before, after, "--json")
    assert result.code == 1, result.err
    out = json.loads(result.out)
    assert out["fixed"] == fixed and out["broken"] == broken
    rows = {r["slug_a"]: r for r in out["cohorts"] if r["slug_a"]}
    crm = rows[crm_a["slug"]]
    assert (crm["a"], crm["b"], crm["fixed"], crm["status"]) == (20, 12, 8, "shrank")
    for row in out["cohorts"]:  # nothing is "gone" while one of its members still fails
        assert row["status"] != "gone" or row["still_failing"] == 0, row
    regressed = {r["account"]: r for r in out["regressed_accounts"]}
    assert regressed[account]["broken"] == 2 and regressed[account]["broken_ids"] == broken
    fixed_here = sum(1 for i in fixed if truth[i]["account"] == account)
    assert regressed[account]["fixed"] == fixed_here > 2 and regressed[account]["delta"] > 0  # improved overall
    assert 0 < regressed[account]["p_adjusted"] <= 1 and "significant" in regressed[account]
    text = run_cli("backtest", "compare", before, after).out
    assert f"{crm_a['slug']}" in text and ": 20 -> 12 (shrank: 8 fixed" in text
    assert f"  {account}: 2 broke ({', '.join(broken)})" in text


def test_report_counts_the_bucket_apart_and_draws_it(read_support: Path, tmp_path: Path) -> None:
    folder = copy_backtest(read_support, tmp_path / "bt")
    summary = cluster_backtest(str(folder), code=str(SUPPORT_CODE))
    report = build_report(str(folder))
    text = (folder / "report.md").read_text()
    n = len(summary.no_common_cause)
    assert f"{n} failures share no cause with any other failure" in text
    assert "](cohorts/no-common-cause.md)" in text and "| no-common-cause |" not in text
    assert report.charts == ["charts/accuracy-by-account.png", "charts/cohort-sizes.png"]
    assert (folder / "charts" / "cohort-sizes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.usefixtures("default_meaning")
def test_templated_analysts_what_holds_and_what_does_not(source: Path, imported_support: Path,
                                                         tmp_path: Path) -> None:
    """Templated analysts (three framings, several phrasings per cause, nothing from the trace): the
    cohorts are pure and causeless failures stay out of them (their shared framing is not
    corroborated by anything else they share), and ARI meets the issue's 0.6. What does not hold: a
    phrasing that shares no content word with the others ("Slow CRM ... 504" blaming another file)
    stays a cohort of its own, so one cause's recall is 0.5-0.9 over five seeds
    (bench_cluster_quality.py)."""
    folder = copy_backtest(imported_support, tmp_path / "bt")
    support_generator().write_analyses(folder, source / "templated.jsonl")
    cluster_backtest(str(folder), code=str(SUPPORT_CODE))
    _, q = _cohort_quality(folder, source)
    print(f"\ntemplated analysts: {q.to_json()}")
    assert q.ari >= 0.6
    assert q.causeless_kept_out is not None and q.causeless_kept_out >= 0.7
    assert all(q.cause_purity[c] >= 0.9 for c in q.main_causes())
    assert q.recall["stale-refund-policy"] >= 0.8 and q.recall["sek-vat-pricing"] >= 0.8
    assert q.recall["crm-timeout"] >= 0.6
