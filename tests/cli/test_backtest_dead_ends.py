"""Dead ends an agent following the backtest-analysis skill met: an analysis written by hand could not be
checked (`agentbook validate` said "not a skill, runbook or eval suite", and `backtest cluster` reads
whatever it finds)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

FOLDER = "backtests/2026-11"
ANALYSIS = f"{FOLDER}/investigations/acme/inv-0070/analysis.json"
# the skill's example (references/analysis-fields.md) with two slips a hand makes
BY_HAND = {"verdict": "wrong",
           "failure_mode": "LogQL line filter |= \"error\" is case-sensitive and misses level=ERROR lines",
           "error_signature": None, "stage": "query-generation-logql",
           "first_wrong_step": {"span_path": "trace/001-agent-invoke_agent-incident-assistant/003-llm-chat-logql",
                                "description": "query uses |= \"error\"; the service logs ERROR"},
           "suspected": [{"kind": "prompt", "path": "prompts/logql.md", "line": 7, "why": "no case guidance"}],
           "evidence": [], "confidence": 80}


def test_an_analysis_written_by_hand_is_checked_field_by_field(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    assert run_cli("backtest", "import", "backtest/manifest.jsonl", FOLDER).code == 0
    Path(ANALYSIS).write_text(json.dumps(BY_HAND, indent=1) + "\n")
    hint = "(the fields: skill backtest-analysis, references/analysis-fields.md)"
    res = run_cli("validate", ANALYSIS)
    assert res.code == 1
    assert res.out.splitlines() == [
        (f"{ANALYSIS}:5:1: error[analysis-schema]: stage: 'query-generation-logql' is not one of ['input', 'planning', "
        f"'query-generation', 'retrieval', 'tool-execution', 'reasoning', 'answer', 'infrastructure', 'data', 'none', "
        f"'other'] {hint}"),
        f"{ANALYSIS}:19:1: error[analysis-schema]: confidence: 80 is greater than the maximum of 1 {hint}",
        "checked 0 skills, 0 runbooks, 0 eval suites, 1 backtest analysis: 2 errors, 0 warnings"]
    Path(ANALYSIS).write_text(json.dumps({**BY_HAND, "stage": "query-generation", "confidence": 0.8}))
    folder = run_cli("validate", FOLDER)
    assert (folder.code, folder.out) == (0, ("checked 0 skills, 0 runbooks, 0 eval suites, 1 backtest analysis: "
                                            "0 errors, 0 warnings\n"))


def test_each_step_names_the_next_as_the_runbook_runs_it(example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """analyze-backtest, step by step: analyze's `next:` left out the --code it was given (so the cohorts'
    locations went unchecked), and report named no next step at all."""
    assert run_cli("backtest", "import", "backtest/manifest.jsonl", FOLDER).code == 0
    analyzed = run_cli("backtest", "analyze", FOLDER, "--model", "scripted:backtest/analyst.script.yaml", "--code", ".")
    assert analyzed.code == 0
    assert analyzed.out.splitlines()[-1] == f"next: agentbook backtest cluster {FOLDER} --code ."
    assert run_cli("backtest", "cluster", FOLDER, "--code", ".", "--meaning", "none").code == 0
    report = run_cli("backtest", "report", FOLDER, "--no-charts")
    assert report.code == 0
    assert report.out.splitlines()[-1] == (f"next: read {FOLDER}/report.md; a fix per top cohort: agentbook backtest "
                                           f"fixes {FOLDER} --code PATH --eval-model SPEC")
