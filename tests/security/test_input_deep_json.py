"""An answer nested deeper than Python's stack (`[[[[...` 5,000 deep) graded by a JSON assertion. The answer is
the model's under test (a scripted one anyone may write in the repository, or one a prompt in the suite steers),
or the stdout of the system `backtest run` runs on inputs anyone may have recorded. `json` raised RecursionError,
which no grader caught: `eval run` ended in an internal error (exit 70, a traceback, no run stored) and
`backtest run` in one too, on every attempt, so the backtest never finished. It is now an error of that
assertion, and the rest of the run goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult

DEEP = "[" * 5000
OBJECTS = '{"pass": ' + "[" * 5000  # for llm-rubric too: its verdict is looked for at every `{` of the reply
Cli = Callable[..., CliResult]


@pytest.mark.parametrize("assertion", ["{type: is-json}", "{type: not-is-json}", "{type: contains-json}",
                                       "{type: equals, value: {a: 1}}", "{type: llm-rubric, value: fine}"])
def test_eval_run_grades_a_deep_answer_as_an_error(run_cli: Cli, tmp_path: Path, assertion: str) -> None:
    (tmp_path / "m.script.yaml").write_text(f"version: 1\nmodel: scripted\ndefault:\n  turns:\n    - text: '{OBJECTS}'\n")
    (tmp_path / "suite.yaml").write_text(f"prompts: ['{{{{q}}}}']\nproviders: ['scripted:{tmp_path / 'm.script.yaml'}']\n"
                                         "tests:\n"
                                         f"  - id: deep\n    vars: {{q: hi}}\n    assert: [{assertion}]\n"
                                         "  - id: plain\n    vars: {q: ho}\n    assert: [{type: contains, value: 'pass'}]\n")
    r = run_cli("eval", "run", tmp_path / "suite.yaml", "--grader", f"scripted:{tmp_path / 'm.script.yaml'}",
                "--json", "--full")
    assert r.code == 2, r.err[-2000:]
    cases = {c["id"]: c for c in json.loads(r.out)["cases"]}
    assert cases["deep"]["verdict"] == "error" and cases["plain"]["verdict"] == "pass"


def test_backtest_run_grades_a_systems_deep_answer_as_a_failed_investigation(run_cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "sys"
    repo.mkdir()
    (repo / ".git").mkdir()  # the spec's repository (its nearest folder holding .git)
    (repo / "system.py").write_text("import json, os, sys\n"
                                    "open(os.environ['AGENTBOOK_TRACE_FILE'], 'w').write('{\"resourceSpans\": []}')\n"
                                    f"print('{DEEP}' if json.load(sys.stdin) == 'deep' else '[1]')\n")
    (repo / "spec.yaml").write_text("command: [python3, system.py]\ninputs: inputs.jsonl\nassert: [{type: is-json}]\n")
    (repo / "inputs.jsonl").write_text("".join(json.dumps({"id": i, "account": "a", "input": i, "truth": "t"}) + "\n"
                                               for i in ("deep", "flat")))
    r = run_cli("backtest", "run", repo / "spec.yaml", tmp_path / "out", "--json")
    assert r.code == 1, r.err[-2000:]
    data = json.loads(r.out)
    assert [f["id"] for f in data["failed"]] == ["deep"] and "nested too deep" in data["failed"][0]["message"]
    assert '"flat"' in (tmp_path / "out" / "manifest.jsonl").read_text()
