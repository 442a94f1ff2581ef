"""`validate_suite` findings, and `agentbook validate` picking suites up through it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentbook.evals.validate import validate_suite

BAD = """prompts: [file://nope.txt]
tests:
  - id: a
    vars: {logs: file://missing.txt}
    assert:
      - type: python
        value: x
  - id: a
    vars: {}
  - id: c
    repeat: 2
    min_pass: 3
    expectd: 1
"""


def test_findings_name_file_line_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(BAD)
    rendered = [f.render().replace(str(tmp_path) + "/", "") for f in validate_suite(path)]
    assert rendered == [
        "suite.yaml:1:1: error[eval-prompt]: cannot read file://nope.txt: No such file or directory",
        ("suite.yaml:3:1: warning[eval-assert-type]: assertion type 'python' is not run by agentbook eval"
         " run (promptfoo may still run it)"),
        (f"suite.yaml:3:1: error[eval-missing-file]: vars.logs: file://missing.txt does not exist (paths are "
         f"relative to {tmp_path})"),
        ("suite.yaml:8:1: error[eval-duplicate-id]: duplicate id 'a' (first used at suite.yaml:3; give each"
         " case a unique id)"),
        "suite.yaml:10:1: error[eval-case-schema]: (case): unknown field(s) ('expectd' was unexpected)",
        "suite.yaml:10:1: error[eval-case-schema]: min_pass: 3 is more than repeat (2)",
    ]


def test_corrupt_suite_is_one_finding_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("tests:\n  - id: a\n    vars: [unclosed\n")
    (finding,) = validate_suite(path)
    assert (finding.line, finding.col, finding.rule) == (4, 1, "eval-suite")
    assert finding.message.startswith("invalid YAML: did not find expected")


def test_fixtures_are_clean_and_validate_command_uses_it(run_cli: Callable[..., Any],
                                                         suite_copy: Callable[[str], Path]) -> None:
    single, split = suite_copy("single"), suite_copy("split")
    assert validate_suite(single) == [] and validate_suite(split / "suite.yaml") == []
    (split / "cases" / "broken.yaml").write_text("id: broken\nassert:\n  - value: no type\n")
    res = run_cli("validate", str(split / "suite.yaml"))
    assert res.code == 1
    assert f"{split}/cases/broken.yaml:1:1: error[eval-case-schema]: assert[0]" in res.out


def test_default_test_assertions_are_checked_once(tmp_path: Path) -> None:
    """defaultTest's assertions run on every case, so one eval run cannot grade is a warning (said once, at
    the suite), not silence: a real suite's `latency` there made all 200 cases errors while validate passed."""
    path = tmp_path / "suite.yaml"
    path.write_text('prompts: ["hi {{x}}"]\ndefaultTest:\n  assert:\n    - type: moderation\n    - type: latency\n'
                    "      threshold: 10\ntests:\n  - vars: {x: 1}\n  - vars: {x: 2}\n")
    found = [(f.line, f.rule, f.message.split(" is ")[0]) for f in validate_suite(path)]
    assert found == [(1, "eval-assert-type", "defaultTest: assertion type 'moderation'")]
