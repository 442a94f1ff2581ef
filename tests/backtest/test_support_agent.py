"""The second example backtest: a support agent's, generated independently of the incident assistant's."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agentbook.backtest.analyze import AnalyzeOptions, analyze_backtest
from agentbook.backtest.folder import BacktestFolder
from agentbook.backtest.importer import import_backtest

from .support import SUPPORT_ANALYST, support_generator, support_planted


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


def test_file_reading_analyst_reports_what_the_trace_holds(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    import_backtest(source / "manifest.jsonl", out)
    summary = analyze_backtest(out, AnalyzeOptions(model=SUPPORT_ANALYST, progress=False))
    assert summary.done == 150 and not summary.failed
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


def test_templated_analyses_are_stored_like_an_analyst_wrote_them(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    import_backtest(source / "manifest.jsonl", out)
    assert support_generator().write_analyses(out, source / "templated.jsonl") == 64
    folder = BacktestFolder(out)
    wrong = [i for i in folder.investigations() if not i.correct]
    assert all(i.analysis() is not None and (i.path / "analysis.md").is_file() for i in wrong)
    modes = {str((i.analysis() or {})["failure_mode"]) for i in wrong
             if support_planted(source)[i.id]["cause"] == "crm-timeout"}
    assert len(modes) >= 5  # several phrasings and styles for one cause
