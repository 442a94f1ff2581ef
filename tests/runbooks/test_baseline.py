"""`agentbook baseline save|check|show` on the example's real suites with the scripted production
model: a prompt change that breaks a case is caught, a shorter prompt is measured, bad input is clear."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult

MODEL = "scripted:evals/sut.script.yaml"
LOGQL = "evals/logql/suite.yaml"
ALERTS = "evals/summarise-alert.yaml"


@pytest.fixture
def repo(example_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(example_repo)
    return example_repo


def test_save_then_check_unchanged_prompt_passes(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    saved = run_cli("baseline", "save", LOGQL, "--model", MODEL, "--prompt", "prompts/logql.md")
    assert saved.code == 0, saved.err
    assert saved.out.startswith("baseline 5/5 passed (100%), prompt prompts/logql.md 173 tokens (run ")
    assert "saved evals/logql/.agentbook/baselines/suite.yaml.json" in saved.out
    checked = run_cli("baseline", "check", LOGQL, "--model", MODEL)
    assert checked.code == 0
    assert checked.out.splitlines()[-1] == "ok: no regressions"


def test_a_broken_case_is_a_regression(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("baseline", "save", LOGQL, "--model", MODEL).code == 0
    prompt = repo / "prompts" / "logql.md"
    # drop the logfmt rule: the scripted model does not care, so break the question a case asks instead
    case = repo / "evals" / "logql" / "cases" / "timeouts-payments.yaml"
    case.write_text(case.read_text().replace("Show me the timeout lines from payments", "Show me payments timeouts"))
    res = run_cli("baseline", "check", LOGQL, "--model", MODEL, "--json")
    data = json.loads(res.out)
    assert res.code == 1
    (regression,) = data["regressions"]
    assert {k: regression[k] for k in ("id", "before", "after")} == {"id": "timeouts-payments", "before": "pass",
                                                                     "after": "error"}
    assert regression["reason"].startswith("model error: ") and regression["answer"] == ""
    assert data["problems"][0] == "1 case(s) passed in the baseline and do not now: timeouts-payments"
    assert data["before"]["passed"] == 5 and data["after"]["passed"] == 4
    assert prompt.read_text().startswith("You translate")


def test_new_cases_are_listed_not_judged(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("baseline", "save", LOGQL, "--model", MODEL).code == 0
    (repo / "evals" / "logql" / "cases" / "errors-checkout.yaml").write_text(
        "id: errors-checkout\nvars: {question: Show me errors from checkout in the last hour}\n"
        "assert:\n  - {type: contains, value: checkout}\n")
    res = run_cli("baseline", "check", LOGQL, "--model", MODEL)
    assert res.code == 0, res.out
    assert "  new case   errors-checkout: pass" in res.out


def test_a_failing_new_case_is_listed_and_the_pass_rate_is_the_baseline_cases(repo: Path,
                                                                            run_cli: Callable[..., CliResult]) -> None:
    """fix-prompt on a suite running two prompt versions: its new case passes on the fixed prompt and fails on
    the other, and the check failed 'pass rate dropped: 8% -> 8%' (17/200 -> 17/201) with no regression."""
    assert run_cli("baseline", "save", LOGQL, "--model", MODEL).code == 0
    (repo / "evals" / "logql" / "cases" / "never.yaml").write_text(
        "id: never\nvars: {question: Show me errors from checkout in the last hour}\n"
        "assert:\n  - {type: contains, value: no model writes this}\n")
    res = run_cli("baseline", "check", LOGQL, "--model", MODEL)
    assert res.code == 0, res.out
    assert "  new case   never: fail" in res.out
    case = repo / "evals" / "logql" / "cases" / "timeouts-payments.yaml"
    case.unlink()  # a baseline case gone: it no longer passes, and the rate on the baseline's cases drops
    data = json.loads(run_cli("baseline", "check", LOGQL, "--model", MODEL, "--json").out)
    assert "pass rate dropped on the baseline's 5 cases: 100% -> 80%" in data["problems"]


def test_shorter_requires_fewer_tokens(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    args = ("--model", MODEL, "--prompt", "prompts/summarise-alert.md")
    assert run_cli("baseline", "save", ALERTS, *args).code == 0
    same = run_cli("baseline", "check", ALERTS, *args, "--shorter")
    assert same.code == 1
    assert "FAIL: the prompt is not shorter: 327 -> 327 tokens" in same.out
    prompt = repo / "prompts" / "summarise-alert.md"
    prompt.write_text(prompt.read_text().replace("- Do not write more than three lines.\n", ""))
    shorter = run_cli("baseline", "check", ALERTS, *args, "--shorter")
    assert shorter.code == 0, shorter.out
    assert "prompt prompts/summarise-alert.md 318 tokens" in shorter.out
    assert shorter.out.splitlines()[-1] == "ok: no regressions, prompt shorter"


def test_check_without_a_baseline_says_how_to_make_one(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    res = run_cli("baseline", "check", ALERTS, "--model", MODEL)
    assert res.code == 3
    assert "agentbook: error: no baseline recorded for evals/summarise-alert.yaml" in res.err
    assert "agentbook baseline save evals/summarise-alert.yaml" in res.err


def test_show_prints_the_recorded_verdicts(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("baseline", "save", ALERTS, "--model", MODEL).code == 0
    res = run_cli("baseline", "show", ALERTS, "--json")
    data = json.loads(res.out)
    assert data["verdicts"] == {"checkout-latency-critical": "pass", "payments-errors-warning": "pass",
                                "search-disk-no-speculation": "pass", "auth-down-first-person": "pass"}


def test_editing_an_existing_case_is_caught_even_when_it_passes(repo: Path,
                                                                run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("baseline", "save", LOGQL, "--model", MODEL).code == 0
    case = repo / "evals" / "logql" / "cases" / "auth-staging.yaml"
    case.write_text(case.read_text().replace("value: '```'", "value: 'anything'"))
    res = run_cli("baseline", "check", LOGQL, "--model", MODEL)
    assert res.code == 1
    assert "  changed    auth-staging" in res.out
    assert ("FAIL: 1 case(s) changed since the baseline: auth-staging (hold the prompt to the cases; "
            "do not edit them to pass)") in res.out
    # reformatting a case without changing its content is not a change
    case.write_text(case.read_text().replace("value: 'anything'", "value: '```'") + "\n# a comment\n")
    assert run_cli("baseline", "check", LOGQL, "--model", MODEL).code == 0


def test_a_baseline_with_errored_cases_is_refused(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    """A model that answers no case made every case an error; `save` recorded 0/5 and `check` said ok.
    (A typo in the script's path is now refused before the suite runs.)"""
    res = run_cli("baseline", "save", LOGQL, "--model", "scripted:evals/modle.script.yaml")
    assert res.code == 3 and "script file not found: evals/modle.script.yaml" in res.err
    (repo / "evals" / "none.script.yaml").write_text(
        "version: 1\nmodel: m\nsessions:\n  - name: nothing\n    match: {first_user: never said}\n"
        "    turns: [{text: x}]\n")
    res = run_cli("baseline", "save", LOGQL, "--model", "scripted:evals/none.script.yaml")
    assert res.code == 3 and "not saved: 5 of 5 case(s) could not run" in res.err
    assert "none.script.yaml" in res.err and "Traceback" not in res.err
    assert not (repo / "evals" / "logql" / ".agentbook" / "baselines").exists()


def test_check_refuses_another_model_unless_told(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("baseline", "save", LOGQL, "--model", MODEL).code == 0
    other = "scripted:evals/other.script.yaml"
    (repo / "evals" / "other.script.yaml").write_text((repo / "evals" / "sut.script.yaml").read_text())
    res = run_cli("baseline", "check", LOGQL, "--model", other)
    assert res.code == 3 and f"the baseline was recorded with {MODEL}, this check runs {other}" in res.err
    assert "--other-model" in res.err
    assert run_cli("baseline", "check", LOGQL, "--model", other, "--other-model").code == 0


def test_errors_are_never_no_regression(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    """A case that failed in the baseline and cannot run now is still a problem, not "ok"."""
    case = repo / "evals" / "logql" / "cases" / "timeouts-payments.yaml"
    case.write_text(case.read_text().replace("- type: contains", "- type: equals", 1))
    assert run_cli("baseline", "save", LOGQL, "--model", MODEL).code == 0
    case.write_text(case.read_text().replace("- type: equals", "- type: no-such-assertion", 1))
    res = run_cli("baseline", "check", LOGQL, "--model", MODEL, "--other-model")
    assert res.code == 1 and "ok: no regressions" not in res.out
    assert "FAIL: 1 case(s) could not run: timeouts-payments" in res.out


def test_a_regression_shows_the_answer(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("baseline", "save", LOGQL, "--model", MODEL).code == 0
    case = repo / "evals" / "logql" / "cases" / "auth-staging.yaml"
    case.write_text(case.read_text().replace('service_name="auth"', 'service_name="nope"'))
    res = run_cli("baseline", "check", LOGQL, "--model", MODEL)
    assert res.code == 1
    line = next(x for x in res.out.splitlines() if x.startswith("  regression auth-staging: pass -> fail; failed: "))
    answered = res.out.splitlines()[res.out.splitlines().index(line) + 1]
    assert answered.startswith('      answered: "') and len(answered) < 340
