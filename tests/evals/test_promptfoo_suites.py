"""Public promptfoo suites as an agent met them with `agentbook eval` (dogfooding on promptfoo configs):

- `defaultTest.assert` runs on every case (promptfoo: defaultTest's assertions, then the case's own;
  `vars`, `options`, `metadata` merged key by key, the case's winning): `eval list` and `eval stats` count
  them, saying which are inherited, and `eval show` shows them under the case, marked as inherited;
- a suite whose `tests:` is one CSV file is a CSV layout (its `__expected` columns are its assertions),
  not the split layout, and a change to one of its rows is refused saying why and what to do;
- an absolute `file:///Users/...` path from the author's machine (or any path out of the repository) is
  refused at the file:line that writes it, with the relative reference that reads the file meant.

The suites are read from the interop folder (`../shared/interop/promptfoo/`, provenance in its
PROVENANCE.md) and copied into a git repository in tmp_path; a test skips when they are absent.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import INTEROP, git

PROMPTFOO = INTEROP / "promptfoo"


def _repo(tmp_path: Path, *sources: str) -> Path:
    """A git repository holding copies of the interop folders `sources` (skipped when absent)."""
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    git(repo, "init", "-q")
    for source in sources:
        folder = PROMPTFOO / source
        if not folder.is_dir():
            pytest.skip(f"third-party promptfoo suites not present at {folder}")
        shutil.copytree(folder, repo / Path(source).name)
    return repo


# -- defaultTest ---------------------------------------------------------------------------------
WORKSHOP_ROWS = [
    "case-d6dd7b19            -          137B  icontains +2 inherited",
    "case-b490476b            -          373B  icontains,javascript,llm-rubric +2 inherited",
    "case-aa860641            -          573B  llm-rubric,javascript +2 inherited",
    "case-6c0ae40c            -          322B  llm-rubric,llm-rubric +2 inherited",
    ("every case also runs the 2 assertions of defaultTest in promptfooconfig.yaml (not-contains, javascript): "
    "counted as +2 inherited"),
    "4 of 4 cases (single layout)",
]


def test_default_test_assertions_are_counted_on_every_case(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = _repo(tmp_path, "promptfoo-workshop") / "promptfoo-workshop" / "promptfooconfig.yaml"
    first = run_cli("eval", "list", suite)  # the suite read whole (and its index cached) ...
    again = run_cli("eval", "list", suite)  # ... then answered from the index cache alone
    assert (first.code, first.out.splitlines()) == (0, WORKSHOP_ROWS)
    assert again.out == first.out
    cases = json.loads(run_cli("eval", "list", suite, "--json").out)
    assert cases["inherited_from"] == "defaultTest in promptfooconfig.yaml"
    assert cases["cases"][0]["asserts"] == ["not-contains", "javascript", "icontains"]  # promptfoo's order
    assert cases["cases"][0]["inherited"] == ["not-contains", "javascript"]
    # a filter on an assertion type matches what every case runs
    hits = run_cli("eval", "list", suite, "--filter", "assert=not-contains").out.splitlines()
    assert hits[-1] == "4 of 4 cases (single layout)"

    stats = run_cli("eval", "stats", suite)
    assert stats.out.splitlines()[:3] == [
        "4 cases, 1405 bytes in case text (single layout; fast splice)",
        "asserts: javascript 6 (4 from defaultTest), not-contains 4 (4 from defaultTest), llm-rubric 4, icontains 2",
        "every case inherits from defaultTest in promptfooconfig.yaml: 2 assertions (not-contains, javascript)",
    ]
    data = json.loads(run_cli("eval", "stats", suite, "--json").out)
    assert (data["asserts"]["javascript"], data["asserts_inherited"]) == (6, {"not-contains": 4, "javascript": 4})

    shown = run_cli("eval", "show", suite, "case-d6dd7b19")
    assert shown.out.splitlines() == [
        f"# case case-d6dd7b19 in {suite}",
        "- vars:",
        "    topic: bananas",
        "  assert:",
        "    # Check if the output mentions the topic",
        "    - type: icontains",
        "      value: banana",
        ("# inherited from defaultTest in promptfooconfig.yaml (not part of the case; promptfoo runs these "
        "assertions before the case's own, and the case's vars and options win over these):"),
        "#   assert:",
        "#   - type: not-contains",
        "#     value: AI language model",
        "#   - type: javascript",
        "#     value: 'output.length <= 280 ? 1 : 0'",
    ]
    as_json = json.loads(run_cli("eval", "show", suite, "case-d6dd7b19", "--json").out)
    assert as_json["case"]["assert"] == [{"type": "icontains", "value": "banana"}]  # the case as written
    assert [a["type"] for a in as_json["inherited"]["assert"]] == ["not-contains", "javascript"]


def test_default_test_from_a_file_merges_vars_and_options_as_promptfoo_does(run_cli: Callable[..., Any],
                                                                           tmp_path: Path) -> None:
    (tmp_path / "defaults.yaml").write_text(
        "assert:\n  - type: not-icontains\n    value: as an AI\nvars:\n  tone: dry\n  topic: default topic\n"
        "options:\n  provider: scripted:grader.script.yaml\nthreshold: 0.5\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text("prompts: ['{{tone}} tweet about {{topic}}']\nproviders: [echo]\n"
                     "defaultTest: file://defaults.yaml\ntests:\n"
                     "  - id: own-topic\n    vars: {topic: bananas}\n    assert: [{type: icontains, value: banana}]\n"
                     "  - id: no-asserts\n    threshold: 1\n")
    rows = run_cli("eval", "list", suite).out.splitlines()
    assert rows == [
        "own-topic                -           92B  icontains +1 inherited",
        "no-asserts               -           36B  +1 inherited",
        ("every case also runs the 1 assertion of defaultTest: file://defaults.yaml (from suite.yaml) (not-icontains): "
        "counted as +1 inherited"),
        "2 of 2 cases (single layout)",
    ]
    shown = json.loads(run_cli("eval", "show", suite, "own-topic", "--json").out)
    # the case's own var wins; the default's other var, options and threshold are inherited
    assert shown["inherited"] == {"assert": [{"type": "not-icontains", "value": "as an AI"}],
                                  "vars": {"tone": "dry"}, "options": {"provider": "scripted:grader.script.yaml"},
                                  "threshold": 0.5}
    assert "threshold" not in json.loads(run_cli("eval", "show", suite, "no-asserts", "--json").out)["inherited"]
    stats = run_cli("eval", "stats", suite).out.splitlines()
    assert stats[2] == ("every case inherits from defaultTest: file://defaults.yaml (from suite.yaml): "
                        "1 assertion (not-icontains); vars tone, topic; options provider; other threshold")


# -- CSV suites ----------------------------------------------------------------------------------
def test_a_csv_suite_is_labelled_as_such_and_counts_its_expected_columns(run_cli: Callable[..., Any],
                                                                        tmp_path: Path) -> None:
    folder = _repo(tmp_path, "promptfoo-examples/eval-self-grading") / "eval-self-grading"
    suite = folder / "csv.yaml"  # the example's own defaultTest, with its tests.csv as the cases
    config = (folder / "promptfooconfig.yaml").read_text(encoding="utf-8")
    suite.write_text(config[:config.index("tests:")] + "tests: file://tests.csv\n", encoding="utf-8")
    rows = run_cli("eval", "list", suite).out.splitlines()
    assert len(rows) == 12 and rows[0].startswith("case-") and rows[0].endswith("B  llm-rubric +2 inherited")
    assert rows[-2:] == [
        ("every case also runs the 2 assertions of defaultTest in csv.yaml (llm-rubric, javascript): "
        "counted as +2 inherited"),
        "10 of 10 cases (CSV layout: one case per row of tests.csv)",
    ]
    assert json.loads(run_cli("eval", "list", suite, "--json").out)["layout"] == "csv"
    stats = run_cli("eval", "stats", suite).out.splitlines()
    assert stats[:2] == [
        ("10 cases, 1862 bytes in case text (CSV layout: one case per row of tests.csv; rows rewritten in place; new "
         "rows are written in the CSV)"),
        "asserts: llm-rubric 20 (10 from defaultTest), javascript 10 (10 from defaultTest)",
    ]


def test_a_csv_row_is_edited_in_place_keeping_its_quoting(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    folder = _repo(tmp_path, "promptfoo-examples/simple-csv") / "simple-csv"
    csv = folder / "tests.csv"
    before = csv.read_text(encoding="utf-8")  # quoted cells holding JSON with "" escapes
    listed = run_cli("eval", "list", folder).out.splitlines()
    assert listed[-1] == "4 of 4 cases (CSV layout: one case per row of tests.csv)"
    first, second = listed[0].split()[0], listed[1].split()[0]
    res = run_cli("eval", "edit", folder, first, "--set", "vars.body=Hello, world")
    assert res.code == 0, res.err
    new_id = res.out.splitlines()[1].split()[4]
    assert res.out.splitlines() == [
        f"edited {first} in {csv}, line 2 (the rest of the file is as it was)",
        f"its id is now {new_id} (the id of a CSV row or JSONL line is derived from its content)"]
    assert csv.read_text(encoding="utf-8") == before.replace('French,"Hello world"', 'French,"Hello, world"', 1)
    assert run_cli("eval", "show", folder, new_id, "--field", "vars.body").out == "Hello, world\n"
    # a change no row can hold is refused, and the file is untouched
    res = run_cli("eval", "edit", folder, second, "--set", "vars.tone=dry")
    assert (res.code, res.err.strip()) == (3, (
        f"agentbook: error: {csv}:1: tests.csv has no column 'tone' for case {second}'s vars (add the column to the "
        "CSV's header (every row then has a cell for it), or keep the case in YAML)"))
    edited = csv.read_bytes()
    (tmp_path / "new.yaml").write_text("id: ahoy\nvars: {language: Pirate, body: Hello}\n")
    res = run_cli("eval", "add", folder, "--file", tmp_path / "new.yaml")
    config = folder / "promptfooconfig.yaml"
    line = config.read_text().splitlines().index("tests: file://tests.csv") + 1
    # a row's id comes from its content, so a case a runbook names by id (dogfood: kevinschaul/llm-evals' CSV
    # suites in add-eval) can only go in YAML beside the CSV: the refusal says where and what happens next
    assert (res.code, res.err.strip()) == (3, (
        f"agentbook: error: {config}:{line}: the suite's cases are the rows of tests.csv, and agentbook does not "
        "add rows to a CSV (it rewrites or removes one) (add the row to tests.csv yourself (its id then comes from "
        "its content), or keep new cases in YAML beside it: make this `tests:` read [file://tests.csv, "
        "file://cases/*.yaml] (promptfoo reads both) and run this `eval add` again, which writes cases/ahoy.yaml)"))
    assert csv.read_bytes() == edited
    # the way out the refusal names: new cases in YAML beside the CSV (a split layout again)
    config.write_text(config.read_text().replace("tests: file://tests.csv",
                                                 "tests: [file://tests.csv, file://cases/*.yaml]"))
    res = run_cli("eval", "add", folder, "--file", tmp_path / "new.yaml")
    assert (res.code, (folder / "cases" / "ahoy.yaml").is_file()) == (0, True), res.err
    assert run_cli("eval", "list", folder).out.splitlines()[-1] == "5 of 5 cases (split layout)"
    res = run_cli("eval", "rm", folder, second)
    assert res.code == 0, res.err
    assert csv.read_text(encoding="utf-8").count("\n") == before.count("\n") - 1
    assert run_cli("eval", "list", folder).out.splitlines()[-1] == "4 of 4 cases (split layout)"


# -- references out of the repository ------------------------------------------------------------
def test_an_absolute_path_from_the_authors_machine_is_refused_where_it_is_written(run_cli: Callable[..., Any],
                                                                                 tmp_path: Path) -> None:
    repo = _repo(tmp_path, "promptfoo-workshop")
    suite = repo / "promptfoo-workshop" / "imdb-csv-eval.yaml"
    res = run_cli("eval", "list", suite)
    assert (res.code, res.out, res.err.strip()) == (3, "", (
        f"agentbook: error: {suite}:15: case file file:///Users/tony/Dev/Personal/promptfoo-workshop/imdb_sample.csv "
        f"is outside the repository {repo} (write it as file://imdb_sample.csv; agentbook reads only files inside "
        "the repository, never .git)"))
    for command in (("stats",), ("run", "--model", "scripted:x.script.yaml")):
        again = run_cli("eval", *command, suite, "--json")
        error = json.loads(again.out)
        assert (again.code, error["location"], error["type"]) == (3, f"{suite}:15", "RefRefused"), again.err
        assert "Traceback" not in again.err
    # fixed as the hint says, the suite lists; its defaultTest's javascript file is the next one refused
    suite.write_text(suite.read_text().replace(
        "file:///Users/tony/Dev/Personal/promptfoo-workshop/imdb_sample.csv", "file://imdb_sample.csv"))
    assert run_cli("eval", "list", suite).out.splitlines()[-1] == \
        "50 of 50 cases (CSV layout: one case per row of imdb_sample.csv)"
    script = repo / "positive.script.yaml"
    script.write_text("version: 1\nmodel: scripted-positive\ndefault:\n  turns: [{text: positive}]\n")
    first = json.loads(run_cli("eval", "list", suite, "--json").out)["cases"][0]["id"]
    report = json.loads(run_cli("eval", "run", suite, "--case", first, "--model", f"scripted:{script}", "--json", "--full").out)
    js = report["cases"][0]["attempts"][0]["asserts"][1]
    assert (js["type"], js["error"]) == ("javascript", True)
    assert js["reason"] == (
        f"{suite}:26: referenced file file:///Users/tony/Dev/Personal/promptfoo-workshop/imdb-sentiment-evaluator.js "
        f"is outside the repository {repo} (write it as file://imdb-sentiment-evaluator.js; agentbook reads only "
        "files inside the repository, never .git)")


def test_paths_out_of_the_repository_or_into_git_are_refused_at_their_line(run_cli: Callable[..., Any],
                                                                         git_repo: Path) -> None:
    (git_repo.parent / "outside.txt").write_text("a prompt out of the repository\n")
    evals = git_repo / "evals"
    evals.mkdir()
    suite = evals / "suite.yaml"
    suite.write_text("prompts:\n  - file://../../outside.txt\nproviders: [echo]\ntests:\n  - id: a\n"
                     "    vars: {q: file://../.git/config}\n")
    res = run_cli("eval", "run", suite, "--model", "scripted:none.script.yaml")
    assert (res.code, res.err.strip()) == (3, (
        f"agentbook: error: {suite}:2: referenced file file://../../outside.txt is outside the repository {git_repo} "
        "(make it relative to the suite's folder and keep the file inside the repository; agentbook reads only "
        "files inside the repository, never .git)"))
    suite.write_text(suite.read_text().replace("file://../../outside.txt", "'{{q}}'"))
    script = git_repo / "echo.script.yaml"
    script.write_text("version: 1\nmodel: scripted-echo\ndefault:\n  turns: [{text: ok}]\n")
    report = json.loads(run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--json", "--full").out)
    assert report["cases"][0]["attempts"][0]["reason"] == (
        f"{suite}:6: referenced file file://../.git/config is git's own data (it may hold the checkout's credentials) "
        "(agentbook reads only files inside the repository, never .git: reference a file of the repository instead)")


def test_a_refused_reference_in_a_case_file_is_found_there_past_a_fifo(run_cli: Callable[..., Any],
                                                                       git_repo: Path) -> None:
    evals = git_repo / "evals"
    (evals / "cases").mkdir(parents=True)
    suite = evals / "suite.yaml"
    suite.write_text("prompts: ['{{q}}']\nproviders: [echo]\ntests: file://cases/*.yaml\n")
    (evals / "cases" / "b.yaml").write_text("id: b\nvars:\n  q: file:///etc/hostname\n")
    os.mkfifo(evals / "aa.json")  # read by the search for the reference's line, it would block it for ever
    script = git_repo / "echo.script.yaml"
    script.write_text("version: 1\nmodel: scripted-echo\ndefault:\n  turns: [{text: ok}]\n")
    report = json.loads(run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--json", "--full").out)
    assert report["cases"][0]["attempts"][0]["reason"] == (
        f"{evals / 'cases' / 'b.yaml'}:3: referenced file file:///etc/hostname is outside the repository {git_repo} "
        "(make it relative to the suite's folder and keep the file inside the repository; agentbook reads only "
        "files inside the repository, never .git)")


def test_a_run_applies_what_default_test_gives_every_case(run_cli: Callable[..., Any], git_repo: Path) -> None:
    """promptfoo gives each test defaultTest's assertions first, its vars under the test's, its options'
    prefix/suffix (the test's own winning) and its threshold when the test has none."""
    script = git_repo / "sut.script.yaml"
    script.write_text("version: 1\nmodel: scripted-affixes\nsessions:\n"
                      "  - name: affixed\n    match: {first_user: {regex: '^Q: say hi to Ann!$'}}\n"
                      "    turns: [{text: hi Ann}]\n    after_last: repeat_last\n"
                      "  - name: own-prefix\n    match: {first_user: {regex: '^>> say hi to Bob!$'}}\n"
                      "    turns: [{text: hi Bob}]\n    after_last: repeat_last\n"
                      "default:\n  turns: [{text: unprefixed}]\n")
    suite = git_repo / "suite.yaml"
    suite.write_text("prompts: ['say hi to {{name}}']\nproviders: [echo]\n"
                     "defaultTest:\n  vars: {name: Ann}\n  options: {prefix: 'Q: ', suffix: '!'}\n  threshold: 0.5\n"
                     "  assert: [{type: icontains, value: hi}]\n"
                     "tests:\n  - id: ann\n    assert: [{type: icontains, value: '{{name}}'}]\n"
                     "  - id: bob\n    vars: {name: Bob}\n    options: {prefix: '>> '}\n"
                     "    assert: [{type: icontains, value: '{{name}}'}, {type: equals, value: hi}]\n")
    report = json.loads(run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--json", "--full").out)
    ann, bob = report["cases"]
    assert [(a["type"], a["pass"]) for a in ann["attempts"][0]["asserts"]] == [("icontains", True), ("icontains", True)]
    # Bob's own prefix, the default suffix; `equals hi` fails, and the default threshold 0.5 lets 2 of 3 pass
    assert [(a["type"], a["pass"]) for a in bob["attempts"][0]["asserts"]] == [
        ("icontains", True), ("icontains", True), ("equals", False)]
    assert (ann["verdict"], bob["verdict"]) == ("pass", "pass")


def test_a_split_of_a_suite_reading_git_data_is_refused_at_its_line(run_cli: Callable[..., Any],
                                                                   git_repo: Path) -> None:
    suite = git_repo / "s.yaml"
    suite.write_text('prompts: ["{{q}}"]\ntests:\n  - id: a\n    vars: {q: file://.git/config}\n')
    res = run_cli("eval", "split", suite, "--out", git_repo / "out")
    assert (res.code, res.err.strip()) == (3, (
        f"agentbook: error: {suite}:4: referenced file file://.git/config is git's own data (it may hold the "
        "checkout's credentials) (agentbook reads only files inside the repository, never .git: reference a file of "
        "the repository instead)"))
    assert not (git_repo / "out" / ".git").exists()
