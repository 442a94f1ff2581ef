"""`eval run --prompt P`: a suite that compares prompt versions runs every case on each, and fix-prompt
changes one. Dogfood (ChunkyTortoise/docextract: prompts extraction-v1.1 and -v1.0) found fix-prompt blocked
at 'the new case passes' after a right fix to v1.1, on v1.0's answers; the failed line showed v1.1's right
answer under v1.0's failed checks. Now the gates run the ticket's prompt, and a failure names the prompt it
failed on and shows that prompt's answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCRIPT = """version: 1
model: sut
sessions:
  - name: new
    match: {first_user: "NEW"}
    after_last: repeat_last
    turns: [{text: right}]
default:
  after_last: repeat_last
  turns: [{text: wrong}]
"""


def _suite(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "new.txt").write_text("NEW: {{q}}")
    (tmp_path / "prompts" / "old.txt").write_text("OLD: {{q}}")
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts:\n  - {label: v2, raw: file://prompts/new.txt}\n  - file://prompts/old.txt\n"
                     "providers: [echo]\ntests:\n- id: one\n  vars: {q: x}\n  assert: [{type: equals, value: right}]\n")
    script = tmp_path / "sut.script.yaml"
    script.write_text(SCRIPT)
    return suite, script


def test_a_failure_names_the_prompt_it_failed_on(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite, script = _suite(tmp_path)
    res = run_cli("eval", "run", suite, "--model", f"scripted:{script}")
    assert res.code == 1
    assert "[file://prompts/old.txt]" in res.out  # the check, with the prompt it failed on
    assert 'answered (attempt 1, prompt file://prompts/old.txt): "wrong"' in res.out  # not v2's "right"


def test_run_only_one_prompt_by_file_or_label(run_cli: Callable[..., Any], tmp_path: Path,
                                              monkeypatch: Any) -> None:
    suite, script = _suite(tmp_path)
    monkeypatch.chdir(tmp_path)
    for wanted in ("prompts/new.txt", "v2"):
        res = run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--prompt", wanted, "--json", "--full")
        report = json.loads(res.out)
        assert res.code == 0, res.out
        assert len(report["cases"][0]["attempts"][0]["asserts"]) == 1  # one prompt ran: v2, which passes
    assert run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--prompt", "prompts/old.txt").code == 1
    # the suite itself, or a file no prompt is read from: every prompt, as before
    for every in (str(suite), "sut.script.yaml"):
        assert run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--prompt", every).code == 1
    bad = run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--prompt", "v3")
    assert bad.code == 3 and "no prompt of the suite is v3" in bad.err and "v2, [2] file://prompts/old.txt" in bad.err


def test_run_one_prompt_by_the_number_eval_prompts_prints(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """Dogfood (kevinschaul/llm-evals): three prompts written in the suite, labelled by their first 40
    characters (one ending in a space); `eval prompts` numbers them [1]..[3], and `--prompt 3` was refused."""
    suite, script = _suite(tmp_path)
    suite.write_text(suite.read_text().replace("  - file://prompts/old.txt\n",
                                               "  - file://prompts/old.txt\n  - 'NEW inline: {{q}}'\n"))
    assert "[3] inline" in run_cli("eval", "prompts", suite).out
    for number, code in (("1", 0), ("2", 1), ("3", 0)):
        res = run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--prompt", number, "--json", "--full")
        assert res.code == code, res.out
        assert len(json.loads(res.out)["cases"][0]["attempts"][0]["asserts"]) == 1
    bad = run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--prompt", "4")
    assert (bad.code, bad.err) == (3, (
        f"agentbook: error: {suite}: no prompt of the suite is 4 (its prompts: [1] v2, [2] file://prompts/old.txt, "
        "[3] NEW inline: {{q}} (name one by its file, its label, its number or SUITE:LINE; the suite itself runs them "
        "all))\n"))


def test_one_prompt_written_in_the_suite_is_named_by_a_line_of_it(run_cli: Callable[..., Any], tmp_path: Path,
                                                                 monkeypatch: Any) -> None:
    """fix-prompt's `prompt` is a path: for one of three prompts written inline (kevinschaul/llm-evals) the
    only path was the suite, and the new case then had to pass on all three. `SUITE:LINE` (any line of it,
    as `eval prompts` shows the place) names that one, here and in `baseline --prompt`."""
    monkeypatch.chdir(tmp_path)
    suite, script = _suite(tmp_path)
    suite.write_text("prompts:\n  - 'OLD: {{q}}'\n  - |\n    NEW: please read the question twice.\n    {{q}}\n"
                     "providers: [echo]\ntests:\n- id: one\n  vars: {q: x}\n  assert: [{type: equals, value: right}]\n")
    assert "[2] inline, promptfooconfig.yaml:3-5," in run_cli("eval", "prompts", "promptfooconfig.yaml").out
    for at, code in (("2", 1), ("3", 0), ("5", 0), ("3-5", 0)):
        res = run_cli("eval", "run", "promptfooconfig.yaml", "--model", f"scripted:{script}",
                      "--prompt", f"promptfooconfig.yaml:{at}")
        assert res.code == code, (at, res.out, res.err)
    bad = run_cli("eval", "run", "promptfooconfig.yaml", "--model", f"scripted:{script}",
                  "--prompt", "promptfooconfig.yaml:7")
    assert (bad.code, bad.err) == (3, (
        "agentbook: error: promptfooconfig.yaml:7: line 7 of promptfooconfig.yaml is in none of its prompts (its "
        "prompts are at lines 2-2, 3-5 (`agentbook eval prompts SUITE` shows them))\n"))
    saved = run_cli("baseline", "save", "promptfooconfig.yaml", "--model", f"scripted:{script}",
                    "--prompt", "promptfooconfig.yaml:3")
    assert saved.code == 0, saved.err
    assert ", prompt promptfooconfig.yaml:3 11 tokens (run " in saved.out
    # the other prompt changes too: the suite's `prompts:` is not held fixed (the agent edits it), its tokens
    # are not counted; this one got shorter
    suite.write_text(suite.read_text().replace(" please read the question twice.\n    {{q}}", " {{q}}")
                     .replace("OLD: ", "OLDER: "))
    checked = run_cli("baseline", "check", "promptfooconfig.yaml", "--model", f"scripted:{script}", "--shorter")
    assert (checked.code, checked.out.splitlines()[-1]) == (0, "ok: no regressions, prompt shorter"), checked.out
