"""`eval run --json` is bounded: a 200-case run printed 1.16 MB (every case, attempt and check), more than an
agent reads in one answer. It prints the totals, each prompt's pass rate and the first cases that did not pass,
each with its failed checks and the start of the answer, and where the rest is; `--full` prints everything."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentbook.evals.runview import CHECK_CHARS, RUN_LIST_LIMIT

# the new prompt answers right; the old one answers right except for the countries it gets wrong
SCRIPT = """version: 1
model: sut
sessions:
  - name: new
    match: {first_user: "NEW"}
    after_last: repeat_last
    turns: [{text: Paris}]
  - name: wrong
    match: {first_user: "Lyonland"}
    after_last: repeat_last
    turns: [{text: Lyon}]
default:
  after_last: repeat_last
  turns: [{text: Paris}]
"""


def _suite(tmp_path: Path, cases: int, wrong: set[int], reason: str = "") -> tuple[Path, str]:
    """`cases` cases on two prompts; those in `wrong` fail on the old prompt only."""
    (tmp_path / "new.txt").write_text("NEW: capital of {{country}}?")
    (tmp_path / "old.txt").write_text("OLD: capital of {{country}}?")
    rows = "".join(f"  - id: capital-{i:03d}\n    vars: {{country: {'Lyonland' if i in wrong else 'France'}}}\n"
                   f"    assert: [{{type: equals, value: Paris}}{reason}]\n" for i in range(cases))
    suite = tmp_path / "suite.yaml"
    suite.write_text("prompts: [file://new.txt, file://old.txt]\ntests:\n" + rows)
    script = tmp_path / "sut.script.yaml"
    script.write_text(SCRIPT)
    return suite, f"scripted:{script}"


def _run(run_cli: Callable[..., Any], *args: Any) -> tuple[int, dict[str, Any], int]:
    res = run_cli("eval", "run", *args, "--json")
    return res.code, json.loads(res.out), len(res.out.encode())


def test_a_long_run_prints_totals_rates_and_the_first_failures(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    wrong = set(range(5, 155, 5))  # 30 cases fail on the old prompt
    suite, model = _suite(tmp_path, 200, wrong)
    code, report, size = _run(run_cli, suite, "--model", model)
    assert code == 1
    assert report["summary"] | {"cache_hits": 0, "cache_misses": 0} == {
        "cases": 200, "passed": 170, "failed": 30, "errors": 0, "flaky": 0, "cache_hits": 0, "cache_misses": 0}
    assert report["by_prompt"] == [
        {"prompt": "file://new.txt", "attempts": 200, "passed": 200, "failed": 0, "errors": 0, "pass_rate": 1.0},
        {"prompt": "file://old.txt", "attempts": 200, "passed": 170, "failed": 30, "errors": 0, "pass_rate": 0.85}]
    listed = [f"capital-{i:03d}" for i in sorted(wrong)][:RUN_LIST_LIMIT]
    assert [c["id"] for c in report["cases"]] == listed
    assert (report["listed"], report["omitted"], report["truncated"]) == (RUN_LIST_LIMIT, 30 - RUN_LIST_LIMIT, True)
    first = report["cases"][0]
    assert first["checks"] == [{"type": "equals", "reason": "output equals 'Paris'", "error": False, "times": 1,
                                "prompts": ["file://old.txt"], "all_prompts": False}]
    assert (first["verdict"], first["passes"], first["n"], first["answer"]["text"]) == ("fail", 0, 1, "Lyon")
    assert first["show"] == f"agentbook eval show {suite} capital-005 --run {report['run_id']}"
    assert size < 25_000, size  # every answer and passing case is in the stored file
    stored = json.loads(Path(report["stored"]).read_text())
    assert len(stored["cases"]) == 200 and stored["cases"][5]["attempts"][0]["outputs"][1]["output"] == "Lyon"
    shown = run_cli(*shlex.split(first["show"])[1:], "--json")  # the pointer works as printed
    assert shown.code == 0 and json.loads(shown.out)["verdict"] == "fail"


def test_limit_and_full_print_more(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite, model = _suite(tmp_path, 40, {3, 7, 9})
    _, every, _ = _run(run_cli, suite, "--model", model, "--limit", "0")
    assert [c["id"] for c in every["cases"]] == ["capital-003", "capital-007", "capital-009"]
    assert (every["omitted"], every["truncated"]) == (0, False)
    _, two, _ = _run(run_cli, suite, "--model", model, "--limit", "2")
    assert (two["listed"], two["omitted"]) == (2, 1)
    _, full, _ = _run(run_cli, suite, "--model", model, "--full")
    assert len(full["cases"]) == 40 and full["cases"][0]["attempts"][0]["asserts"][0]["pass"] is True
    assert "outputs" not in full["cases"][0]["attempts"][0]  # the answers stay in the stored file
    human = run_cli("eval", "run", suite, "--model", model, "--full")
    assert human.out.count("PASS  capital-") == 37  # every line, not only the ones that did not pass


def test_a_long_reason_is_cut_and_an_unrun_case_says_why(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    long = "x" * 600
    suite, model = _suite(tmp_path, 3, {1}, reason=f", {{type: contains, value: '{long}'}}")
    (tmp_path / "suite.yaml").write_text((tmp_path / "suite.yaml").read_text()
                                         + "  - id: broken\n    vars: {}\n    assert: [{type: equals, value: x}]\n")
    code, report, _ = _run(run_cli, suite, "--model", model)
    assert code == 2
    cases = {c["id"]: c for c in report["cases"]}
    check = cases["capital-000"]["checks"][0]
    assert check["reason"].startswith("output contains 'xxx") and len(check["reason"]) < CHECK_CHARS + 40
    assert check["reason"].endswith(" chars more: `show`]") and cases["capital-000"]["truncated"]
    assert cases["broken"]["verdict"] == "error" and cases["broken"]["checks"] == []
    assert "country" in cases["broken"]["reason"]  # the undefined variable, said where no check ran
    assert report["by_prompt"][0]["errors"] == 1
