"""Suites whose cases are the lines of a JSONL file (`tests: evals/tests.jsonl`, with or without `file://`), as
promptfoo reads them: listed, shown and run; a case's line is edited, removed or appended in place, every other
line keeping its bytes.

Dogfood (ChunkyTortoise/docextract, 200 cases in `evals/promptfoo_tests.jsonl` named by a bare path) found
every `eval` command refused such a suite: first "`tests` must be a list of cases or a file:// path", then,
with `file://`, "tests from .jsonl files are not supported"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

LINES = [
    {"vars": {"question": "Capital of France?"}, "assert": [{"type": "contains", "value": "Paris"}],
     "description": "capital"},
    {"id": "named", "vars": {"question": "Café?"}, "assert": [{"type": "icontains", "value": "café"}]},
]


def _suite(tmp_path: Path, tests: str = "evals/tests.jsonl", compact: bool = False) -> Path:
    (tmp_path / "evals").mkdir()
    seps = (",", ":") if compact else (", ", ": ")
    body = "".join(json.dumps(c, ensure_ascii=False, separators=seps) + "\n" + ("\n" if n == 0 else "")
                   for n, c in enumerate(LINES))  # a blank line between: skipped, as promptfoo skips it
    (tmp_path / "evals" / "tests.jsonl").write_text(body, encoding="utf-8")
    (tmp_path / "p.txt").write_text("Answer: {{question}}")
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text(f"prompts: [file://p.txt]\nproviders: [echo]\ntests: {tests}\n")
    return suite


@pytest.mark.parametrize("tests", ["evals/tests.jsonl", "file://evals/tests.jsonl", "[file://evals/*.jsonl]"])
def test_lines_list_show_and_run_as_promptfoo_reads_them(run_cli: Callable[..., Any], tmp_path: Path,
                                                         tests: str) -> None:
    suite = _suite(tmp_path, tests)
    res = run_cli("eval", "list", suite, "--json")
    assert res.code == 0, res.err
    listing = json.loads(res.out)
    assert listing["layout"] == "jsonl"
    cases = listing["cases"]
    assert [c["location"].rsplit(":", 1)[1] for c in cases] == ["1", "3"]  # the blank line counted, not a case
    assert cases[1]["id"] == "named" and cases[0]["id"].startswith("case-")
    shown = json.loads(run_cli("eval", "show", suite, cases[0]["id"], "--json").out)["case"]
    assert shown == LINES[0]
    assert "the case at line 3 of tests.jsonl" in run_cli("eval", "show", suite, "named").out
    script = tmp_path / "paris.script.yaml"
    script.write_text("version: 1\nmodel: scripted-paris\ndefault:\n  turns: [{text: \"Paris, CAFÉ\"}]\n")
    run = run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--json", "--full")
    assert run.code == 0, run.out + run.err
    assert [c["verdict"] for c in json.loads(run.out)["cases"]] == ["pass", "pass"]


def test_a_line_is_edited_removed_or_appended_and_the_others_keep_their_bytes(run_cli: Callable[..., Any],
                                                                              tmp_path: Path) -> None:
    suite = _suite(tmp_path, compact=True)
    data = tmp_path / "evals" / "tests.jsonl"
    before = data.read_bytes().split(b"\n")
    ids = [c["id"] for c in json.loads(run_cli("eval", "list", suite, "--json").out)["cases"]]
    res = run_cli("eval", "edit", suite, "named", "--set", "assert[0].value=crème", "--json")
    assert res.code == 0, res.err
    after = data.read_bytes().split(b"\n")
    assert after[:2] == before[:2] and len(after) == len(before)
    # the file's own style: compact separators, non-ASCII written as it is
    assert after[2].decode() == '{"id":"named","vars":{"question":"Café?"},"assert":[{"type":"icontains",' \
                                '"value":"crème"}]}'
    # a content id follows the content: the command names the new one
    res = run_cli("eval", "edit", suite, ids[0], "--set", "description=the capital", "--json")
    new_id = json.loads(res.out)["id"]
    assert new_id != ids[0] and json.loads(data.read_text().split("\n")[0])["description"] == "the capital"
    assert "id" not in json.loads(data.read_text().split("\n")[0])  # no id written into the line
    refused = run_cli("eval", "edit", suite, "named", "--set", "id=other")
    assert refused.code == 3 and "cannot change the id" in refused.err
    new = tmp_path / "new.yaml"
    new.write_text("id: added\nvars: {question: Capital of Spain}\nassert: [{type: contains, value: Madrid}]\n")
    res = run_cli("eval", "add", suite, new, "--json")
    assert res.code == 0, res.out
    last = data.read_text().rstrip("\n").split("\n")[-1]
    assert json.loads(last) == {"id": "added", "vars": {"question": "Capital of Spain"},
                                "assert": [{"type": "contains", "value": "Madrid"}]}
    assert run_cli("eval", "add", suite, new).code == 3  # the id is taken
    assert run_cli("eval", "rm", suite, "named").code == 0
    assert [c["id"] for c in json.loads(run_cli("eval", "list", suite, "--json").out)["cases"]] == [new_id, "added"]


@pytest.mark.parametrize(("line", "message"), [
    ('{"vars": {"q": 1}', "3:18: not a JSON value"),
    ('["a list"]', "3: a line of a JSONL test file must be a JSON object"),
])
def test_a_bad_line_is_named_at_its_line(run_cli: Callable[..., Any], tmp_path: Path, line: str,
                                         message: str) -> None:
    suite = _suite(tmp_path)
    (tmp_path / "evals" / "tests.jsonl").write_text('{"vars": {}}\n\n' + line + "\n")
    res = run_cli("eval", "list", suite)
    assert res.code == 3 and "Traceback" not in res.err
    assert f"tests.jsonl:{message}" in res.err


@pytest.mark.parametrize(("tests", "message"), [
    ("https://docs.google.com/spreadsheets/d/x", "tests from https:// are not read by agentbook eval"),
    ("huggingface://datasets/x", "tests from huggingface:// are not read"),
    ("just words", "`tests` must be a list of cases or a file:// path"),
])
def test_a_tests_string_that_names_no_file_is_refused(run_cli: Callable[..., Any], tmp_path: Path, tests: str,
                                                      message: str) -> None:
    suite = _suite(tmp_path, tests)
    res = run_cli("eval", "list", suite)
    assert res.code == 3 and message in res.err and "Traceback" not in res.err


def test_split_names_the_record_file_instead_of_saying_already_split(run_cli: Callable[..., Any],
                                                                    tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    res = run_cli("eval", "split", suite, "--out", tmp_path / "out")
    assert res.code == 3 and "already split" not in res.err
    assert "are the records of a file (JSONL layout: one case per line of evals/tests.jsonl)" in res.err
