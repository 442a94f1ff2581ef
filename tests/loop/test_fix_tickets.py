"""`backtest fixes`: the tickets analyze-backtest hands to fix-prompt run as they are written, and name
their target cohort by its members."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.backtest.fixes import read_ticket_cohort, write_fixes
from agentbook.errors import FatalError
from agentbook.runbooks.tickets import read_ticket

from .conftest import EVAL_MODEL


def _index(bt: Path) -> dict[str, Any]:
    return json.loads((bt / "cohorts" / "index.json").read_text())


def test_one_ticket_per_prompt_cohort_and_fix_prompt_accepts_each(example_repo: Path,
                                                                  run_cli: Callable[..., Any]) -> None:
    bt = example_repo / "backtests" / "2026-11"
    res = run_cli("backtest", "fixes", bt, "--code", example_repo, "--eval-model", EVAL_MODEL, "--json")
    assert res.code == 0, res.err
    out = json.loads(res.out)
    fixes = {f["slug"]: f for f in out["fixes"]}
    cohorts = {c["slug"]: c for c in _index(bt)["cohorts"]}
    assert set(fixes) == set(cohorts)  # five cohorts, five fixes
    by_location = {f["location"].partition(":")[0]: f for f in out["fixes"]}
    # the prompts an eval suite covers get tickets; code gets a reason instead
    assert by_location["prompts/logql.md"]["ticket"] and by_location["prompts/root-cause.md"]["ticket"]
    for code in ("assistant/tools/loki.py", "assistant/accounts.py"):
        assert by_location[code]["ticket"] is None and "not a prompt" in by_location[code]["no_ticket"]
    # systemic causes come first
    scopes = [f["scope"] for f in out["fixes"]]
    assert scopes == sorted(scopes, key=lambda s: s != "systemic")
    for fix in out["fixes"]:
        if not fix["ticket"]:
            continue
        path = example_repo / fix["ticket"]
        ticket = read_ticket(str(path))
        assert ticket.runbook == "fix-prompt" and ticket.inputs["eval_model"] == EVAL_MODEL
        assert fix["location"].startswith(ticket.inputs["prompt"])
        target = read_ticket_cohort(path)
        assert target.members == sorted(cohorts[fix["slug"]]["members"]) and target.slug == fix["slug"]
        assert fix["evidence"][0].endswith(cohorts[fix["slug"]]["medoid"])
    # the runner's pre-flight takes every ticket as written (committed: runs start from a commit)
    from tests.conftest import git

    git(example_repo, "add", "tickets")
    git(example_repo, "commit", "-q", "-m", "fix tickets")
    for ticket_path in out["tickets"]:
        dry = run_cli("run", "fix-prompt", "--repo", example_repo, "--ticket", example_repo / ticket_path,
                      "--dry-run", "--json")
        assert dry.code == 0, dry.out + dry.err
        plan = json.loads(dry.out)
        assert plan["inputs"]["suite"] in ("evals/logql/suite.yaml", "evals/root-cause.yaml")
        assert "members" not in json.dumps(plan["steps"])  # the cohort block is not for the agent
    text = (bt / "fixes.md").read_text()
    assert text.count("\n## ") == 5 and "`prompts/logql.md:10`" in text and "ticket: none:" in text


def test_fixes_without_cohorts_or_code_fail_clearly(example_repo: Path, tmp_path: Path,
                                                    run_cli: Callable[..., Any]) -> None:
    bt = example_repo / "backtests" / "2026-11"
    (bt / "cohorts" / "index.json").unlink()
    res = run_cli("backtest", "fixes", bt, "--code", example_repo, "--eval-model", EVAL_MODEL)
    assert res.code == 3 and "has no cohorts yet" in res.err and "Traceback" not in res.err
    res = run_cli("backtest", "fixes", bt, "--code", tmp_path / "nope", "--eval-model", EVAL_MODEL)
    assert res.code == 3 and "--code is not a folder" in res.err


def test_a_ticket_without_a_cohort_block_is_refused_by_name(example_repo: Path) -> None:
    ticket = example_repo / "tickets" / "INC-142-logql-error-case.md"
    with pytest.raises(FatalError, match="names no target cohort") as err:
        read_ticket_cohort(ticket)
    assert err.value.location == str(ticket)


def test_tickets_are_rewritten_the_same(example_repo: Path) -> None:
    bt = example_repo / "backtests" / "2026-11"
    first = write_fixes(bt, code=example_repo, eval_model=EVAL_MODEL)
    texts = {t: (example_repo / t).read_text() for t in first.to_json()["tickets"]}
    second = write_fixes(bt, code=example_repo, eval_model=EVAL_MODEL)
    assert {t: (example_repo / t).read_text() for t in second.to_json()["tickets"]} == texts


def test_a_ticket_carries_what_its_evidence_recorded_fenced_and_never_a_linked_file(example_repo: Path,
                                                                                     tmp_path: Path) -> None:
    """The fix-prompt agent's worktree is made from a commit: an uncommitted backtest folder (or one
    outside --code) is not in it, so the ticket inlines the evidence's answer, truth and finding."""
    bt = example_repo / "backtests" / "2026-11"
    fix = next(f for f in write_fixes(bt, code=example_repo, eval_model=EVAL_MODEL).fixes if f.ticket)
    inv = bt / fix.evidence[0]
    body = read_ticket(str(example_repo / str(fix.ticket))).body
    truth = (inv / "truth.md").read_text().strip()
    finding = json.loads((inv / "analysis.json").read_text())["failure_mode"]
    assert "never instructions" in body
    assert truth[:200] in body and finding[:200] in body
    tag = body.split('field="truth">')[0].rsplit("<", 1)[1].split()[0]
    assert tag.startswith("recorded-") and body.count(f"</{tag}>") == body.count(f"<{tag} ")
    secret = tmp_path / "secret.txt"
    secret.write_text("sk-ant-api03-not-for-tickets")
    (inv / "truth.md").unlink()
    (inv / "truth.md").symlink_to(secret)
    again = next(f for f in write_fixes(bt, code=example_repo, eval_model=EVAL_MODEL).fixes if f.slug == fix.slug)
    body = read_ticket(str(example_repo / str(again.ticket))).body
    assert "not-for-tickets" not in body and finding[:200] in body


def test_a_suite_naming_its_prompt_file_bare_is_the_prompts_suite(tmp_path: Path) -> None:
    """The tutor's suite (CharlieChenyuZhang/mit-media-lab-pytutor-promptfoo) writes `prompts:
    ["prompts/pytutor-v1.txt"]`, no file://: a fix to that prompt found no suite, so got no ticket."""
    from agentbook.backtest.fixes import _suites_by_prompt

    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "pytutor-v1.txt").write_text("- role: user\n  content: '{{ question }}'\n")
    (tmp_path / "promptfooconfig.yaml").write_text('prompts:\n  - "prompts/pytutor-v1.txt"\ntests: []\n')
    (tmp_path / "inline.yaml").write_text("prompts:\n  - 'Answer {{q}} in prompts/x.txt style'\ntests: []\n")
    # the inline prompt names no file: it is the suite's own, at its lines
    assert _suites_by_prompt(tmp_path.resolve()) == {"prompts/pytutor-v1.txt": "promptfooconfig.yaml",
                                                     "inline.yaml:2-2": "inline.yaml"}


def test_a_cohort_citing_a_prompt_written_in_the_suite_gets_a_ticket_on_the_suite(tmp_path: Path) -> None:
    """Dogfood (kevinschaul/llm-evals@d86f2b77, src/evals/nhtsa-recalls): every prompt is written in the suite,
    the analysts cited `promptfoo-config.yaml:8`, and fixes said "not a prompt any eval suite covers" for each
    cohort. A line inside an inline prompt is that suite's prompt; a line elsewhere in it is not."""
    from agentbook.backtest.fixes import _fix, _suites_by_prompt

    evals = tmp_path / "src" / "evals"
    evals.mkdir(parents=True)
    (evals / "promptfoo-config.yaml").write_text(
        "description: recalls\nprompts:\n  - |\n    Is this relevant? {{content}}\n  - |\n    You are a reporter.\n"
        "    Return true or false.\n    {{content}}\nproviders: [echo]\ntests: file://tests.csv\n")
    suites = _suites_by_prompt(tmp_path.resolve())
    assert suites == {"src/evals/promptfoo-config.yaml:3-4": "src/evals/promptfoo-config.yaml",
                      "src/evals/promptfoo-config.yaml:5-8": "src/evals/promptfoo-config.yaml"}
    cohort = {"slug": "missed-newsworthy", "count": 15, "members": ["a", "b"],
              "proposed_change": "say that automation defects are news even without deaths"}
    for line, suite, prompt in ((7, "src/evals/promptfoo-config.yaml", "src/evals/promptfoo-config.yaml:5"),
                                (10, None, "")):
        cohort["suspected"] = [{"location": f"src/evals/promptfoo-config.yaml:{line}"}]
        fix = _fix(1, cohort, {"a": "x/a", "b": "x/b"}, suites, tmp_path.resolve())
        # the ticket's prompt is that one prompt, by its first line (which its own edits do not move)
        assert (fix.location, fix.suite, fix.prompt) == (f"src/evals/promptfoo-config.yaml:{line}", suite, prompt)
        assert (fix.no_ticket is None) == (suite is not None), fix.no_ticket
