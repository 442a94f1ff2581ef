"""Dead ends an agent following the backtest-analysis skill met: an analysis written by hand could not be
checked (`agentbook validate` said "not a skill, runbook or eval suite", and `backtest cluster` reads
whatever it finds)."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO_ROOT, CliResult

from agentbook.catalog import parse_runbook
from agentbook.runbooks.render import fill

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


def _gate(step: int) -> Callable[[], subprocess.CompletedProcess[str]]:
    """analyze-backtest's gate of `step`, filled with the example ticket's inputs, run by bash here."""
    (gate,) = parse_runbook(REPO_ROOT / "runbooks" / "analyze-backtest.md").steps[step - 1].gates
    command = fill(gate.command, {"inputs": {"backtest": FOLDER}}, where="analyze-backtest.md", quote=shlex.quote)
    return lambda: subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)


def test_the_cluster_and_report_gates_prove_there_are_causes_and_show_them(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """analyze-backtest's report gate was `grep -q "## Top causes by impact" report.md`: it passed on a
    report of no cause at all (report.md has that heading with "No cohorts yet" under it), and, like the
    cluster gate (`test -s cohorts/index.json`), it passed without a word, so the next step's message
    (which opens with the passing gates' output) said nothing of the cohorts the fixes are proposed for."""
    cluster_gate, report_gate = _gate(3), _gate(4)
    assert run_cli("backtest", "import", "backtest/manifest.jsonl", FOLDER).code == 0
    assert run_cli("backtest", "analyze", FOLDER, "--model", "scripted:backtest/analyst.script.yaml").code == 0
    assert run_cli("backtest", "report", FOLDER, "--no-charts").code == 0  # before cluster: no causes
    assert "No cohorts yet" in Path(FOLDER, "report.md").read_text()
    assert report_gate().returncode == 1 and cluster_gate().returncode != 0
    assert run_cli("backtest", "cluster", FOLDER, "--code", ".", "--meaning", "none").code == 0
    assert run_cli("backtest", "report", FOLDER, "--no-charts").code == 0
    clustered, reported = cluster_gate(), report_gate()
    assert clustered.returncode == 0 and reported.returncode == 0, clustered.stderr + reported.stderr
    assert (f"{FOLDER}/cohorts/query-generation-logql-parse-syntax-unexpected.md:- count: 18 failures "
            in clustered.stdout), clustered.stdout
    lines = reported.stdout.splitlines()
    assert lines[0].startswith("### 1. Missing \\| logfmt parser") and lines[1] == "- code: `prompts/logql.md:10`", lines
    assert sum(line.startswith("### ") for line in lines) == 5  # the top causes, bounded as report.md is


def test_import_names_ten_kept_ids_and_says_json_has_them_all(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """`backtest import --update` listed every id in --json (right: JSON is complete) but put the counts
    nowhere, so a reader of its first 1,500 characters (the runbook's gate output, cut for the next step)
    saw a list of ids and no totals; its text named ten kept ids and not how many more there were."""
    manifest = Path("backtest/manifest.jsonl")
    assert run_cli("backtest", "import", manifest, FOLDER).code == 0
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    for row in rows[:12]:
        Path(FOLDER, "investigations", row["account"], row["id"], "analysis.json").write_text('{"verdict": "wrong"}')
        row["answer"] = "changed"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = run_cli("backtest", "import", manifest, FOLDER, "--update")
    assert text.code == 0
    kept = text.out.splitlines()[1]
    assert kept.startswith("12 changed in the manifest but already analysed") and kept.endswith(
        f"{rows[9]['id']} and 2 more (--json lists them all)"), kept
    whole = run_cli("backtest", "import", manifest, FOLDER, "--update", "--json")
    data = json.loads(whole.out)
    assert list(data)[:3] == ["out", "total", "counts"]
    assert data["counts"] == {"imported": 0, "refreshed": 0, "unchanged": 188, "kept_changed": 12}
    assert len(data["unchanged"]) == 188 and len(data["kept_changed"]) == 12


def test_validate_of_a_report_says_it_is_no_runbook_instead_of_asking_for_front_matter(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """backtest-analysis has the agent `agentbook validate` the backtest; one that named the folder's
    report.md was told `frontmatter-missing ... (add '---', the keys, and '---' at the top of the file)`:
    checked as a runbook, with a fix that would break the report. A runbook in runbooks/ without its
    front-matter still gets that finding."""
    assert run_cli("backtest", "import", "backtest/manifest.jsonl", FOLDER).code == 0
    assert run_cli("backtest", "report", FOLDER, "--no-charts").code == 0
    res = run_cli("validate", f"{FOLDER}/report.md")
    assert res.code == 1
    assert res.out.splitlines()[0] == (
        f"{FOLDER}/report.md:1:1: error[unknown-file]: not a runbook (no '---' front-matter on line 1) nor a "
        "SKILL.md: nothing here to check (a runbook opens with front-matter, as runbooks/*.md do; a backtest's "
        "analyses are checked by validating its folder)")
    Path("runbooks").mkdir()
    Path("runbooks/half.md").write_text("## A step\n")
    assert "error[frontmatter-missing]" in run_cli("validate", "runbooks/half.md").out


def test_a_manifest_of_another_shape_is_summed_up_by_kind(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """A manifest whose 2,000 lines all lack the same fields (a file of another shape) gave five problems
    and 'and 5995 more problems': not that every line had the same three, nor how many lines each."""
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": f"x{n}"}) + "\n" for n in range(2000)) + "not json\n")
    res = run_cli("backtest", "import", manifest, tmp_path / "bt")
    assert res.code == 3
    assert res.err.strip().endswith(
        " and 5996 more problems; in all: 'account' must be a non-empty string (2000 lines); 'trace' must be a "
        "non-empty string (2000 lines); needs 'verdict' (one of correct, wrong, partial) or a numeric 'score' "
        "(2000 lines); 1 other kind (fix the manifest; nothing was imported)"), res.err


def test_analyze_without_a_key_says_to_pass_model(example_cwd: Path, run_cli: Callable[..., CliResult],
                                                  monkeypatch) -> None:
    """With no --model and no API key, analyze started every analyst and failed each on the key (exit 13),
    where `agentbook run` says to pass --model; it now stops before the first one, as run does."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "AGENTBOOK_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert run_cli("backtest", "import", "backtest/manifest.jsonl", FOLDER).code == 0
    res = run_cli("backtest", "analyze", FOLDER)
    assert (res.code, res.out) == (3, "")
    assert res.err == ("agentbook: error: model anthropic:claude-sonnet-4-5 needs an API key "
                       "(set ANTHROPIC_API_KEY, or pass --model)\n")
    assert not list(Path(FOLDER).glob("investigations/*/*/analysis*.json"))
