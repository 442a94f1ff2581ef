"""The per-fix check on top of `backtest compare`: the targeted cohort before -> after found by its
members, other cohorts that grew, investigations and accounts that regressed, and the verdict."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agentbook.backtest.cohorts import cluster_backtest
from agentbook.backtest.fixes import read_ticket_cohort, write_fixes
from agentbook.workflows.fixcheck import check_fix, render_check

from .conftest import EVAL_MODEL


def _set_verdict(bt: Path, inv_id: str, verdict: str) -> Path:
    inv = next(bt.glob(f"investigations/*/{inv_id}"))
    meta = yaml.safe_load((inv / "meta.yaml").read_text())
    meta["verdict"] = verdict
    (inv / "meta.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return inv


def _rerun(example_repo: Path, fixed: list[str], broken_like: dict[str, str]) -> Path:
    """A copy of the baseline where `fixed` now pass and each key of `broken_like` (a correct
    investigation) fails like its value (a failed one: same analysis), re-clustered."""
    bt = example_repo / "backtests" / "2026-11"
    after = example_repo / "backtests" / "after"
    shutil.copytree(bt, after)
    for inv_id in fixed:
        inv = _set_verdict(after, inv_id, "correct")
        (inv / "analysis.json").unlink()
    for inv_id, like in broken_like.items():
        inv = _set_verdict(after, inv_id, "wrong")
        source = json.loads(next(after.glob(f"investigations/*/{like}/analysis.json")).read_text())
        source["id"] = inv_id
        (inv / "analysis.json").write_text(json.dumps(source))
    shutil.rmtree(after / "cohorts")
    cluster_backtest(str(after), code=str(example_repo))
    return after


def _tickets(example_repo: Path) -> dict[str, Path]:
    summary = write_fixes(example_repo / "backtests" / "2026-11", code=example_repo, eval_model=EVAL_MODEL)
    return {f.location: example_repo / f.ticket for f in summary.fixes if f.ticket}


def _correct_ids(bt: Path, n: int, account: str) -> list[str]:
    ids = []
    for meta in sorted(bt.glob(f"investigations/{account}/*/meta.yaml")):
        if yaml.safe_load(meta.read_text())["verdict"] == "correct":
            ids.append(meta.parent.name)
    return ids[:n]


def test_a_fix_that_shrinks_its_cohort_and_breaks_nothing_is_ready(example_repo: Path) -> None:
    ticket = _tickets(example_repo)["prompts/logql.md:10"]
    target = read_ticket_cohort(ticket)
    after = _rerun(example_repo, target.members[:15], {})
    check = check_fix(target, str(example_repo / "backtests" / "2026-11"), str(after))
    assert (check.before, check.after, check.fixed, check.still_failing) == (18, 3, 15, 3)
    assert check.ready and not check.grew and not check.broken, check.to_json()
    assert check.target == target.slug and check.target_jaccard == 1.0
    text = "\n".join(render_check(check))
    assert f"cohort {target.slug}: 18 -> 3" in text and "verdict: ready" in text


def test_a_fix_that_breaks_another_cohort_is_not_ready_and_says_why(example_repo: Path) -> None:
    tickets = _tickets(example_repo)
    target = read_ticket_cohort(tickets["prompts/logql.md:10"])
    other = read_ticket_cohort(tickets["prompts/root-cause.md:13"])
    bt = example_repo / "backtests" / "2026-11"
    victims = _correct_ids(bt, 3, "acme")
    after = _rerun(example_repo, target.members, {v: other.members[0] for v in victims})
    check = check_fix(target, str(bt), str(after))
    assert check.before == 18 and check.after == 0 and check.target_status == "gone"
    assert [(g["slug_a"], g["a"], g["b"]) for g in check.grew] == [(other.slug, 18, 21)]
    assert check.broken == victims and check.regressed_accounts[0]["account"] == "acme"
    assert not check.ready
    assert any("other cohort(s) grew" in r for r in check.reasons)
    assert any("were correct are now wrong" in r and "acme" in r for r in check.reasons)


def test_a_fix_that_does_not_move_its_cohort_is_not_ready(example_repo: Path) -> None:
    target = read_ticket_cohort(_tickets(example_repo)["prompts/logql.md:10"])
    after = _rerun(example_repo, [], {})
    check = check_fix(target, str(example_repo / "backtests" / "2026-11"), str(after))
    assert (check.before, check.after) == (18, 18) and not check.ready
    assert check.reasons == ["the targeted cohort did not shrink (18 -> 18, 18 of its investigations still fail)"]


def test_compare_with_tickets_reports_each_fix(example_repo: Path, run_cli: Callable[..., Any]) -> None:
    tickets = _tickets(example_repo)
    bt = example_repo / "backtests" / "2026-11"
    logql, other = tickets["prompts/logql.md:10"], tickets["prompts/root-cause.md:13"]
    after = _rerun(example_repo, read_ticket_cohort(logql).members[:10], {})
    res = run_cli("backtest", "compare", bt, after, "--ticket", logql, "--ticket", other, "--json")
    assert res.code == 1, res.err  # the root-cause fix did not move its cohort
    fixes = {f["ticket_id"]: f for f in json.loads(res.out)["fixes"]}
    assert [(f["before"], f["after"], f["ready"]) for f in fixes.values()] == [(18, 8, True), (18, 18, False)]
    text = run_cli("backtest", "compare", bt, after, "--ticket", logql).out
    assert "fix bt-2026-11-1-" in text and ": 18 -> 8 (" in text and "verdict: ready" in text
    bad = run_cli("backtest", "compare", bt, after, "--ticket", example_repo / "tickets" / "INC-142-logql-error-case.md")
    assert bad.code == 3 and "names no target cohort" in bad.err and "INC-142" in bad.err


def test_a_fix_whose_cohort_was_not_re_run_is_not_ready(example_repo: Path) -> None:
    """A re-run without the targeted investigations sees none of them fail: that is no fix."""
    target = read_ticket_cohort(_tickets(example_repo)["prompts/logql.md:10"])
    bt = example_repo / "backtests" / "2026-11"
    after = _rerun(example_repo, [], {})
    for inv_id in target.members:
        shutil.rmtree(next(after.glob(f"investigations/*/{inv_id}")))
    shutil.rmtree(after / "cohorts")
    cluster_backtest(str(after), code=str(example_repo))
    check = check_fix(target, str(bt), str(after))
    assert (check.before, check.after, check.not_in_b) == (18, 0, 18) and not check.ready, check.to_json()
    assert check.reasons == ["the targeted cohort was not all re-run (18 not in B)"]
    assert "verdict: NOT ready: the targeted cohort was not all re-run (18 not in B)" in render_check(check)


def test_a_fix_whose_cohort_fails_unanalysed_in_the_re_run_is_not_ready(example_repo: Path) -> None:
    """Half the cohort still fails in the re-run but was never analysed there: the re-run's cohort
    holds only the other half, so its count alone would read as a fix."""
    target = read_ticket_cohort(_tickets(example_repo)["prompts/logql.md:10"])
    bt = example_repo / "backtests" / "2026-11"
    after = _rerun(example_repo, [], {})
    for inv_id in target.members[:9]:
        (next(after.glob(f"investigations/*/{inv_id}")) / "analysis.json").unlink()
    shutil.rmtree(after / "cohorts")
    cluster_backtest(str(after), code=str(example_repo))
    check = check_fix(target, str(bt), str(after))
    assert (check.before, check.after, check.unanalysed) == (18, 9, 9) and not check.ready, check.to_json()
    assert check.reasons == ["9 of the targeted investigations fail in B without an analysis (9 not analysed in B)"]
