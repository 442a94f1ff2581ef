"""Suites whose cases are CSV rows (`tests: file://tests.csv`), as promptfoo reads them: listed, shown
and run; a change to a row is refused (the CSV is the user's), never written as YAML into it.

A sample of public promptfoo suites had a CSV test file in about one suite in six; each was refused
whole ("tests from .csv files are not supported") before this."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.evals.csvcases import assertion

CSV = (
    "question,__expected1,__expected2,__description,__metric,__threshold,__prefix,__metadata:tier\n"
    "What is the capital of France?,contains: Paris,\"icontains-any: paris, lutetia\",capital,geo,0.5,Q: ,smoke\n"
    "\"A question, with a comma\nand a second line\",Paris is the capital.,,,,,,full\n"
    "\n"
    "Say nothing,not-contains: Paris,grade: says nothing,,,,,\n"
)


def _suite(tmp_path: Path) -> Path:
    (tmp_path / "tests.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "p.txt").write_text("{{question}}")
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts: [file://p.txt]\nproviders: [echo]\ntests: file://tests.csv\n")
    return suite


def test_rows_list_and_show_as_promptfoo_reads_them(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    res = run_cli("eval", "list", suite, "--json")
    assert res.code == 0, res.err
    cases = json.loads(res.out)["cases"]
    assert [c["location"].rsplit(":", 1)[1] for c in cases] == ["2", "3", "6"]  # a quoted newline, a blank line
    assert [c["asserts"] for c in cases] == [["contains", "icontains-any"], ["equals"], ["not-contains", "llm-rubric"]]
    # promptfoo keeps what follows `contains:` whole, its leading space too
    shown = json.loads(run_cli("eval", "show", suite, cases[0]["id"], "--json").out)["case"]
    assert shown == {"description": "capital", "threshold": 0.5, "options": {"prefix": "Q: "},
                     "metadata": {"tier": "smoke"}, "vars": {"question": "What is the capital of France?"},
                     "assert": [{"type": "contains", "value": " Paris", "metric": "geo"},
                                {"type": "icontains-any", "value": ["paris", "lutetia"], "metric": "geo"}]}
    second = json.loads(run_cli("eval", "show", suite, cases[1]["id"], "--json").out)["case"]
    assert second["vars"] == {"question": "A question, with a comma\nand a second line"}
    assert second["assert"] == [{"type": "equals", "value": "Paris is the capital."}]
    text = run_cli("eval", "show", suite, cases[2]["id"]).out
    assert "the row at line 6 of tests.csv" in text and "llm-rubric" in text


def test_a_row_is_rewritten_in_place_or_removed_and_a_new_row_is_refused(run_cli: Callable[..., Any],
                                                                        tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    ids = [c["id"] for c in json.loads(run_cli("eval", "list", suite, "--json").out)["cases"]]
    # the row holding a quoted newline: only its changed cell is written anew, the others keep their text
    res = run_cli("eval", "edit", suite, ids[1], "--set", "assert[0].value=Paris, France.", "--json")
    assert res.code == 0, res.err
    edited = json.loads(res.out)
    assert (edited["was"], edited["lines"]) == (ids[1], [4, 4])  # the record's second line holds the cell
    assert (tmp_path / "tests.csv").read_text(encoding="utf-8") == CSV.replace(
        ",Paris is the capital.,,,,,,full", ',"Paris, France.",,,,,,full')
    shown = json.loads(run_cli("eval", "show", suite, edited["id"], "--json").out)["case"]
    assert shown["assert"] == [{"type": "equals", "value": "Paris, France."}]
    res = run_cli("eval", "rm", suite, ids[2])
    assert res.code == 0, res.err
    assert (tmp_path / "tests.csv").read_text(encoding="utf-8").endswith(",,,,,full\n\n")
    (tmp_path / "new.yaml").write_text("vars: {question: new}\n")
    res = run_cli("eval", "add", suite, tmp_path / "new.yaml", "--json")
    assert res.code == 3 and "does not add rows to a CSV" in json.loads(res.out)["error"]


def test_rows_run_and_are_graded(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    script = tmp_path / "paris.script.yaml"
    script.write_text("version: 1\nmodel: scripted-paris\ndefault:\n  turns: [{text: \"Paris is the capital.\"}]\n")
    res = run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--json", "--full")
    report = json.loads(res.out)
    verdicts = [c["verdict"] for c in report["cases"]]
    assert verdicts[:2] == ["pass", "pass"] and verdicts[2] in ("fail", "error")  # no grader for the rubric


@pytest.mark.parametrize("cell,expected", [
    ("Paris", {"type": "equals", "value": "Paris"}),
    ("contains:Paris", {"type": "contains", "value": "Paris"}),
    ("not-regex:^x", {"type": "not-regex", "value": "^x"}),
    ("contains-all: a, b ,c", {"type": "contains-all", "value": ["a", "b", "c"]}),
    ("is-json", {"type": "is-json"}),
    ("similar(0.9):text", {"type": "similar", "value": "text", "threshold": 0.9}),
    ("similar:text", {"type": "similar", "value": "text", "threshold": 0.8}),
    ("starts-with:Yes", {"type": "starts-with", "value": "Yes", "threshold": 0.75}),
    ("grade: is polite", {"type": "llm-rubric", "value": " is polite"}),
    ("llm-rubric:is polite", {"type": "llm-rubric", "value": "is polite"}),
    ("javascript: output.length < 10", {"type": "javascript", "value": "output.length < 10"}),
    ("file://checks/grade.py", {"type": "python", "value": "checks/grade.py"}),
    ("containsParis", {"type": "equals", "value": "containsParis"}),
])
def test_expected_cells(cell: str, expected: dict[str, Any]) -> None:
    assert assertion(cell) == expected


def test_a_named_case_for_a_csv_suite_follows_the_refusal_into_yaml(run_cli: Callable[..., Any],
                                                                   tmp_path: Path) -> None:
    """add-eval names its case (`case: insult-low-iq`), and a CSV row's id comes from its content: on
    kevinschaul/llm-evals' CSV suites the runbook's `eval add` was refused and its check `eval show SUITE ID`
    could never pass. The refusal points at the `tests:` line and says what the same `eval add` then does."""
    suite = _suite(tmp_path)
    (tmp_path / "new.yaml").write_text("id: insult-low-iq\nvars: {question: new}\n")
    res = run_cli("eval", "add", suite, "--file", tmp_path / "new.yaml")
    assert (res.code, res.err) == (3, (
        f"agentbook: error: {suite}:3: the suite's cases are the rows of tests.csv, and agentbook does not add rows "
        "to a CSV (it rewrites or removes one) (add the row to tests.csv yourself (its id then comes from its "
        "content), or keep new cases in YAML beside it: make this `tests:` read [file://tests.csv, "
        "file://cases/*.yaml] (promptfoo reads both) and run this `eval add` again, which writes "
        "cases/insult-low-iq.yaml)\n"))
    suite.write_text(suite.read_text().replace("tests: file://tests.csv",
                                               "tests: [file://tests.csv, file://cases/*.yaml]"))
    res = run_cli("eval", "add", suite, "--file", tmp_path / "new.yaml")
    assert (res.code, (tmp_path / "cases" / "insult-low-iq.yaml").is_file()) == (0, True), res.err
    assert run_cli("eval", "show", suite, "insult-low-iq").code == 0
    assert (tmp_path / "tests.csv").read_text(encoding="utf-8") == CSV


def test_a_test_file_the_suite_names_but_nobody_committed_is_named_at_the_suites_line(
        run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """FullFact/health-misinfo-shared's evaluation/*.yaml name tests CSVs that are not in the repository:
    the error said `cannot read evaluation/tests.csv`, not which suite line names it."""
    suite = _suite(tmp_path)
    suite.write_text(suite.read_text().replace("tests: file://tests.csv", "tests: file://tests_quote_in_chunk.csv"))
    res = run_cli("eval", "list", suite)
    assert (res.code, res.err) == (3, (
        f"agentbook: error: {suite}:3: file://tests_quote_in_chunk.csv does not exist (the suite's tests: names it, "
        f"relative to {tmp_path}; commit the file or fix the path)\n"))


def test_a_long_row_shown_cut_still_says_where_it_is(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """kevinschaul/llm-evals: `eval show` of a row with a 4 KB post cut the post and dropped the
    `# the row at line N of tests.csv` line a short row shows."""
    suite = _suite(tmp_path)
    (tmp_path / "tests.csv").write_text(CSV + '"' + "a long post " * 400 + '",contains: post\n', encoding="utf-8")
    row = json.loads(run_cli("eval", "list", suite, "--json").out)["cases"][-1]
    shown = run_cli("eval", "show", suite, row["id"]).out.splitlines()
    assert shown[:2] == [f"# case {row['id']} in {suite}", "# the row at line 7 of tests.csv, as promptfoo reads it"]
    assert "--field vars.question --range" in "\n".join(shown)
