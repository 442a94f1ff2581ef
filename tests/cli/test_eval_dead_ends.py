"""Dead ends an agent following the eval-tool and prompt-craft skills met in `agentbook eval` and
`agentbook baseline`: each test types the commands as the skill teaches them and asserts the exact text
that tells the agent what happened and what to do next."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml
from tests.conftest import CliResult

SUITE = "evals/logql/suite.yaml"
MODEL = "scripted:evals/sut.script.yaml"
INC_150 = """\
id: warnings-per-pod-inventory
vars:
  question: How many warnings per pod did inventory log?
assert:
  - type: contains
    value: '|~ "(?i)warn"'
  - type: not-contains
    value: '|= "warn"'
"""


def _run_id(result: CliResult) -> str:
    return str(json.loads(result.out)["run_id"])


def test_diff_after_a_case_run_names_the_cases_it_did_not_compare(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """prompt-craft had the agent check the whole suite with `eval diff` after `eval run --case`: the
    diff compared the one case both runs held and printed `0 flipped`, read as "no regressions"."""
    whole = _run_id(run_cli("eval", "run", SUITE, "--model", MODEL, "--json"))
    one = _run_id(run_cli("eval", "run", SUITE, "--case", "timeouts-payments", "--model", MODEL, "--json"))
    again = _run_id(run_cli("eval", "run", SUITE, "--model", MODEL, "--json"))
    res = run_cli("eval", "diff", SUITE, "@2", "latest")
    assert res.code == 0
    assert res.out.splitlines() == [
        f"{one} -> {again}: 0 flipped (1 case in both runs)",
        f"  not compared, only in {again}: auth-staging, oom-by-pod-checkout, rate-5xx-gateway, slow-requests-search",
        ("  (a run with --case holds only those cases: compare two runs of the whole suite, or check the suite "
         "against a baseline: agentbook baseline save / check)")]
    assert json.loads(run_cli("eval", "diff", SUITE, "@2", "latest", "--json").out)["compared"] == 1
    assert run_cli("eval", "diff", SUITE, whole, again).out == f"{whole} -> {again}: 0 flipped (5 cases in both runs)\n"


def test_a_run_without_model_says_the_suite_chose_it_and_how_to_choose(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """eval-tool's `agentbook eval run SUITE --case ID --repeat 5`, without an API key: each case said
    `model error: anthropic:claude-haiku-4-5: no API key`, not that the suite named that model nor that
    --model picks the ticket's eval model."""
    res = run_cli("eval", "run", SUITE, "--case", "timeouts-payments", "--repeat", "5")
    assert res.code == 2
    assert res.out.splitlines()[1] == (
        "      model error: anthropic:claude-haiku-4-5: no API key (set ANTHROPIC_API_KEY (or key_env=<VAR> in the "
        "spec)); anthropic:claude-haiku-4-5 is the suite's `providers:` model: --model SPEC runs another")
    chosen = run_cli("eval", "run", SUITE, "--case", "timeouts-payments", "--model", "anthropic:claude-haiku-4-5")
    assert chosen.out.splitlines()[1] == (
        "      model error: anthropic:claude-haiku-4-5: no API key (set ANTHROPIC_API_KEY (or key_env=<VAR> in the "
        "spec))")


def test_a_failed_check_says_it_failed(example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """The INC-150 case added as eval-tool teaches (a file, then `eval add --file`), run to see it fail:
    the line under FAIL read `contains: output contains '|~ "(?i)warn"'`, the check and not its result."""
    Path(".agentbook").mkdir(exist_ok=True)
    Path(".agentbook/case.yaml").write_text(INC_150)
    assert run_cli("eval", "add", SUITE, "--file", ".agentbook/case.yaml").code == 0
    res = run_cli("eval", "run", SUITE, "--case", "warnings-per-pod-inventory", "--model", MODEL)
    assert res.code == 1
    assert res.out.splitlines()[:3] == [
        "FAIL  warnings-per-pod-inventory   0/1 [0.00, 0.79]",
        "      failed: contains: output contains '|~ \"(?i)warn\"'; not-contains: not: output contains '|= \"warn\"'",
        '      answered (attempt 1): "sum by (pod) (count_over_time({service_name=\\"inventory\\"} |= \\"warn\\" [5m]))"']


def test_a_cut_description_says_where_it_is_whole(example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """add-eval's first step: `agentbook eval list SUITE` to see the cases' style; descriptions ended in
    `…` with nothing saying how to read them."""
    res = run_cli("eval", "list", SUITE)
    assert res.code == 0
    assert res.out.splitlines()[-2:] == [
        f"(descriptions cut at 48 characters: agentbook eval show {SUITE} ID, or --json, has them whole)",
        "5 of 5 cases (split layout)"]
    assert run_cli("eval", "list", SUITE, "--filter", "id=slow-*").out.splitlines()[-1:] == [
        "1 of 5 cases (split layout)"]  # nothing cut, nothing said


def test_a_long_run_lists_the_cases_that_did_not_pass(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """eval-tool's `agentbook eval run SUITE` on a suite of 150 cases: the output was cut after the first
    4,000 characters of PASS lines, and the one failing case, last in the file, was not on screen."""
    script = tmp_path / "sut.script.yaml"
    script.write_text("version: 1\nmodel: scripted-capital\ndefault:\n  turns:\n    - text: Paris\n")
    (tmp_path / "p.txt").write_text("Capital of {{country}}?")
    cases = "".join(f"  - id: capital-{i:03d}\n    vars: {{country: France}}\n    assert: [{{type: equals, value: "
                    f"{'Lyon' if i == 149 else 'Paris'}}}]\n" for i in range(150))
    (tmp_path / "suite.yaml").write_text("prompts: [file://p.txt]\ntests:\n" + cases)
    res = run_cli("eval", "run", str(tmp_path / "suite.yaml"), "--model", f"scripted:{script}")
    assert res.code == 1
    lines = res.out.splitlines()
    assert lines[:3] == ["FAIL  capital-149                  0/1 [0.00, 0.79]",
                         "      failed: equals: output equals 'Lyon'", '      answered (attempt 1): "Paris"']
    assert lines[3] == "[149 passing cases not listed: --full lists every case]"
    assert lines[4].startswith("run ") and lines[4].endswith(": 149 passed, 1 failed, 0 errors, 0 flaky "
                                                              f"(149 cached responses) with scripted:{script}")


def test_a_run_id_is_a_name_in_the_suites_runs_not_a_path(example_cwd: Path,
                                                          run_cli: Callable[..., CliResult]) -> None:
    """`eval show --run RUN` and `eval diff` read RUN.json in the suite's runs folder; a path climbing out
    of it reads another JSON file, which in a session may be outside the agent's root."""
    run = _run_id(run_cli("eval", "run", SUITE, "--case", "timeouts-payments", "--model", MODEL, "--json"))
    runs = next(Path("evals/logql/.agentbook/runs").iterdir())
    (Path("evals") / "elsewhere.json").write_text((runs / f"{run}.json").read_text())
    climb = "../" * len(runs.parts) + "evals/elsewhere"
    assert (runs / f"{climb}.json").resolve() == (example_cwd / "evals" / "elsewhere.json").resolve()
    for args in (("show", SUITE, "timeouts-payments", "--run", climb), ("diff", SUITE, climb, "latest")):
        res = run_cli("eval", *args)
        assert res.code == 3 and res.err.startswith(f"agentbook: error: unknown run '{climb}' for "), res.err
    shown = run_cli("eval", "show", SUITE, "timeouts-payments", "--run", "latest")
    assert shown.code == 0 and shown.out.splitlines()[:2] == [
        f"# case timeouts-payments in run {run} with {MODEL}: pass (1/1 attempts passed)", "attempt 1: pass"]


def test_an_add_says_what_happened_to_the_file_in_plain_words(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """`eval add` ended in `(fast path)` or `(full round-trip: anchors, ...)`: words of the
    implementation, with nothing an agent can do with them. It says now whether the rest of the file was
    left as it was, and when the whole file was rewritten, why and how to look at what changed."""
    Path(".agentbook").mkdir(exist_ok=True)
    Path(".agentbook/case.yaml").write_text(INC_150)
    res = run_cli("eval", "add", "evals/summarise-alert.yaml", "--file", ".agentbook/case.yaml")
    assert res.code == 0
    assert res.out.endswith(" (the rest of the file is as it was)\n"), res.out
    Path("evals/odd.yaml").write_text(
        "prompts: [file://../prompts/logql.md]\nx-checks: &checks\n  - type: contains\n    value: logql\n"
        "tests:\n  - id: first\n    vars: {question: Errors now}\n    assert: *checks\n")
    res = run_cli("eval", "add", "evals/odd.yaml", "--file", ".agentbook/case.yaml")
    assert res.code == 0
    assert res.out == ("added warnings-per-pod-inventory in evals/odd.yaml (the whole file was rewritten, not "
                       "just this case (anchors, aliases); comments are kept, the layout may change: "
                       "git diff evals/odd.yaml shows what changed)\n")


def test_a_missing_baseline_hint_is_a_command_that_runs(example_cwd: Path,
                                                        run_cli: Callable[..., CliResult]) -> None:
    """fix-prompt's last gate, `baseline check SUITE --model M`, with no baseline: the hint said
    `agentbook baseline save SUITE`, which runs the suite's own model (no API key here) and fails again.
    The hint carries the --model (and --prompt) of the check; that command saves."""
    res = run_cli("baseline", "check", SUITE, "--model", MODEL, "--prompt", "prompts/logql.md")
    assert res.code == 3
    hinted = f"agentbook baseline save {SUITE} --model {MODEL} --prompt prompts/logql.md"
    assert res.err.rstrip().endswith(f"(record one on the unchanged prompt first: {hinted})"), res.err
    assert run_cli(*hinted.split()[1:]).code == 0
    unsaved = run_cli("baseline", "save", SUITE)  # the suite's own model: no API key
    assert unsaved.code == 3
    assert unsaved.err.rstrip().endswith(
        f"(fix the model spec or the cases (agentbook eval run {SUITE} --case auth-staging --model SPEC shows "
        "why), then save again)"), unsaved.err


def test_an_edit_through_an_alias_changes_only_the_case_named(tmp_path: Path,
                                                              run_cli: Callable[..., CliResult]) -> None:
    """A suite whose cases share their checks through an anchor (`assert: *checks`): `eval edit SUITE
    first --set 'assert[0].value=...'` rewrote the anchored list, so every case sharing it changed too,
    and said only that the edit was made. The case named gets its own copy; the others keep theirs."""
    suite = tmp_path / "suite.yaml"
    suite.write_text("prompts: [file://p.txt]\nx-checks: &checks\n  - type: contains\n    value: logql\n"
                     "defaults: &vars\n  labels: pod\ntests:\n"
                     "  - id: first\n    vars: {<<: *vars, question: a}\n    assert: *checks\n"
                     "  - id: second\n    vars: *vars\n    assert: *checks\n")
    for args in (["first", "--set", "assert[0].value=(?i)error"], ["second", "--set", "vars.labels=level"]):
        assert run_cli("eval", "edit", str(suite), *args).code == 0
    data = yaml.safe_load(suite.read_text())
    assert data["tests"][0]["assert"] == [{"type": "contains", "value": "(?i)error"}]
    assert data["tests"][1]["assert"] == [{"type": "contains", "value": "logql"}]
    assert data["tests"][1]["vars"] == {"labels": "level"}
    assert data["tests"][0]["vars"] == {"labels": "pod", "question": "a"}
    assert data["x-checks"] == [{"type": "contains", "value": "logql"}] and data["defaults"] == {"labels": "pod"}


def test_a_rewritten_file_keeps_its_line_endings_and_byte_order_mark(
        tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """`eval add` to a suite written on Windows (CRLF, a byte-order mark) rewrote every line of it with
    LF and dropped the mark: `git diff` showed the whole file changed for one added case."""
    suite = tmp_path / "suite.yaml"
    original = "\ufeffprompts: [file://p.txt]\r\ntests:\r\n  - id: a\r\n    vars: {q: 1}  # one\r\n"
    suite.write_bytes(original.encode("utf-8"))
    case = tmp_path / "case.yaml"
    case.write_text("id: b\nvars: {q: 2}\n")
    assert run_cli("eval", "add", str(suite), "--file", str(case)).code == 0
    written = suite.read_bytes().decode("utf-8")
    assert written.startswith(original), written
    assert "\n" not in written.replace("\r\n", "") and "id: b\r\n" in written
    cases = tmp_path / "split" / "cases"
    cases.mkdir(parents=True)
    (tmp_path / "split" / "suite.yaml").write_text("prompts: [file://p.txt]\ntests: file://cases/*.yaml\n")
    one = "id: one\r\nvars:\r\n  q: 1\r\nassert:\r\n  - type: contains\r\n    value: x\r\n"
    (cases / "one.yaml").write_bytes(one.encode())
    res = run_cli("eval", "edit", str(tmp_path / "split" / "suite.yaml"), "one", "--set", "vars.q=2")
    assert res.out.endswith(", line 3 (the rest of the file is as it was)\n"), res.out
    assert (cases / "one.yaml").read_bytes() == one.replace("q: 1", "q: 2").encode()


def test_list_filters_add_up_and_an_unknown_field_is_an_error(example_cwd: Path,
                                                               run_cli: Callable[..., CliResult]) -> None:
    """On a suite of thousands of cases: `eval list SUITE --filter 'size>2000' --filter 'result=fail'`
    listed every failing case (the second --filter replaced the first), and `--filter 'type=contains'`
    printed '0 of N cases' with exit 0, read as "no such case" when the field does not exist."""
    both = run_cli("eval", "list", SUITE, "--filter", "size>330", "--filter", "assert=regex")
    assert both.code == 0
    assert [line.split()[0] for line in both.out.splitlines()[:-2]] == ["auth-staging"]
    assert both.out == run_cli("eval", "list", SUITE, "--filter", "size>330,assert=regex").out
    for term in ("type=contains", "vars.question~errors"):
        wrong = run_cli("eval", "list", SUITE, "--filter", term)
        assert wrong.code == 3 and wrong.out == ""
        field = term.split("=")[0].split("~")[0]
        assert wrong.err == (f"agentbook: error: bad filter {term!r}: no field {field!r} to filter on (fields: id, "
                             "description, assert, result, size (e.g. assert=contains, size>10000); a bare word "
                             "matches ids and descriptions)\n")



def test_a_check_without_model_refuses_before_it_runs_the_suite(tmp_path: Path,
                                                                 run_cli: Callable[..., CliResult]) -> None:
    """A baseline saved with --model M, then `baseline check SUITE` without it: the whole suite ran on the
    suite's providers: model (with a real one, the bill of a full run) and only then was refused as
    another model. The refusal now comes first, and no run is recorded."""
    for name in ("suites", "saved"):
        (tmp_path / f"{name}.script.yaml").write_text("version: 1\nmodel: m\ndefault:\n  turns:\n    - text: x\n")
    (tmp_path / "p.txt").write_text("Q {{q}}")
    suite = tmp_path / "suite.yaml"
    suite.write_text("prompts: [file://p.txt]\nproviders: [scripted:suites.script.yaml]\ntests:\n"
                     "  - id: a\n    vars: {q: one}\n    assert: [{type: contains, value: x}]\n")
    saved = f"scripted:{tmp_path / 'saved.script.yaml'}"
    assert run_cli("baseline", "save", str(suite), "--model", saved).code == 0
    runs = tmp_path / ".agentbook" / "runs"
    before = sorted(runs.rglob("*"))
    res = run_cli("baseline", "check", str(suite))
    assert res.code == 3
    assert res.err == (f"agentbook: error: the baseline was recorded with {saved}, this check runs "
                       f"scripted:suites.script.yaml (check with --model {saved}, or pass --other-model to "
                       "compare anyway)\n")
    assert before and sorted(runs.rglob("*")) == before


def test_a_check_measures_the_baselines_prompt_and_a_wrong_path_costs_no_run(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """consolidate-prompt's gates with a slip in --prompt: `baseline check ... --prompt` of another file
    compared the token counts of two files (a shorter other file read as 'prompt shorter'), and `baseline
    save --prompt` of a path that does not exist ran the whole suite before saying it cannot be read."""
    runs = Path("evals/logql/.agentbook/runs")
    res = run_cli("baseline", "save", SUITE, "--model", MODEL, "--prompt", "prompts/nope.md")
    assert res.code == 3 and "prompts/nope.md: cannot read prompt" in res.err and not runs.exists()
    assert run_cli("baseline", "save", SUITE, "--model", MODEL, "--prompt", "prompts/logql.md").code == 0
    before = sorted(runs.rglob("*"))
    other = run_cli("baseline", "check", SUITE, "--model", MODEL, "--prompt", "prompts/summarise-alert.md")
    assert other.code == 3 and sorted(runs.rglob("*")) == before
    assert other.err == ("agentbook: error: the baseline measured the prompt prompts/logql.md, this check would "
                         "measure prompts/summarise-alert.md (check with --prompt prompts/logql.md (or leave "
                         "--prompt out), or save a new baseline for the other prompt)\n")


def _many_cases(folder: Path, total: int, failing: set[int]) -> Path:
    """A suite of `total` cases on a model that always answers `yes`; the cases in `failing` expect `no`."""
    (folder / "m.script.yaml").write_text("version: 1\nmodel: m\ndefault:\n  turns:\n    - text: 'yes'\n")
    (folder / "p.txt").write_text("Q {{q}}")
    cases = "".join(f"  - id: case-{i:03d}\n    vars: {{q: '{i}'}}\n"
                    f"    assert: [{{type: contains, value: '{'no' if i in failing else 'yes'}'}}]\n"
                    for i in range(total))
    suite = folder / "suite.yaml"
    suite.write_text("prompts: [file://p.txt]\ntests:\n" + cases)
    return suite


def test_baseline_show_of_a_big_suite_lists_what_failed_and_says_what_it_left_out(
        tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """prompt-craft's baseline on a suite of 3,000 cases, then `baseline show SUITE`: it printed the
    first 100 verdicts in suite order, 100 passes, and stopped without a word, so the 250 cases that
    failed in the baseline (the ones a fix must not be blamed for) were nowhere to be seen."""
    suite = _many_cases(tmp_path, 300, {250})
    model = f"scripted:{tmp_path / 'm.script.yaml'}"
    assert run_cli("baseline", "save", str(suite), "--model", model).code == 0
    res = run_cli("baseline", "show", str(suite))
    assert res.code == 0
    lines = res.out.splitlines()
    assert lines[0].startswith("baseline 299/300 passed (100%), the suite's 1 prompt 2 tokens (run ")
    assert lines[1:] == ["  fail  case-250", "[299 passing cases not listed: --json lists every case]"]
    assert len(json.loads(run_cli("baseline", "show", str(suite), "--json").out)["verdicts"]) == 300


def test_diff_with_a_run_number_past_the_stored_runs_names_it(
        tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """eval-tool's `eval diff SUITE @2 latest` with one run too many (@9 of 2 stored): the error said
    `unknown run '(none)'`, not which of the two names was wrong nor how many runs there are."""
    suite = _many_cases(tmp_path, 2, set())
    model = f"scripted:{tmp_path / 'm.script.yaml'}"
    for _ in range(2):
        assert run_cli("eval", "run", str(suite), "--model", model).code == 0
    res = run_cli("eval", "diff", str(suite), "@9", "latest")
    assert res.code == 3
    assert res.err.splitlines()[0].startswith(
        f"agentbook: error: unknown run '@9' for {suite}: 2 runs are stored, @1 (latest) to @2 (recent runs: ")


def test_a_check_with_many_regressions_says_how_many_it_did_not_show(
        tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """prompt-craft's `baseline check SUITE --model M` after a change that broke 2,750 of 3,000 cases:
    it showed 20 regressions, then `FAIL: 2750 case(s) ... do not now:` and ten ids, with nothing saying
    the lists were cut nor where the rest is."""
    suite = _many_cases(tmp_path, 30, set())
    (tmp_path / "m.script.yaml").write_text(
        "version: 1\nmodel: m\nsessions:\n  - name: old\n    match: {first_user: 'Q '}\n    turns: [{text: 'yes'}]\n"
        "default:\n  turns: [{text: 'no'}]\n")
    model = f"scripted:{tmp_path / 'm.script.yaml'}"
    assert run_cli("baseline", "save", str(suite), "--model", model).code == 0
    (tmp_path / "p.txt").write_text("Ask {{q}}")
    res = run_cli("baseline", "check", str(suite), "--model", model)
    assert res.code == 1
    lines = res.out.splitlines()
    assert "  [10 more regressions not shown: --json lists every one]" in lines
    assert ("FAIL: 30 case(s) passed in the baseline and do not now: case-000, case-001, case-002, case-003, "
            "case-004, case-005, case-006, case-007, case-008, case-009 and 20 more") in lines


def test_a_typo_in_model_is_refused_before_the_suite_runs(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """`eval run SUITE --model scripted:evals/sut.scrpt.yaml` (one letter off) on a 3,000-case suite ran
    every case, printed the same "script file not found" 3,000 times under ERROR (exit 2, its pointer
    `--filter result=fail` lists none of them), and stored the run: every case's last verdict became
    `error`. A spec that cannot name a model is bad input: exit 3 before any case runs."""
    suite = _many_cases(tmp_path, 5, set())
    typo = tmp_path / "m.scrpt.yaml"
    for args in (("eval", "run", str(suite)), ("baseline", "save", str(suite)), ("eval", "run", str(suite), "--case",
                                                                                   "case-001")):
        res = run_cli(*args, "--model", f"scripted:{typo}")
        assert res.code == 3, res.out + res.err
        assert res.err == (f"agentbook: error: script file not found: {typo} (pass a path to a *.script.yaml "
                           "file after scripted:; `agentbook standin --help` shows how to write one)\n")
    res = run_cli("eval", "run", str(suite), "--model", "scripted")
    assert res.code == 3 and res.err.startswith("agentbook: error: bad model spec 'scripted'")
    assert not (tmp_path / ".agentbook" / "runs").exists()


def test_a_case_of_many_fields_is_cut_before_a_field_and_names_it(tmp_path: Path,
                                                                 run_cli: Callable[..., CliResult]) -> None:
    """A case whose fields are each short but add up past the view's 8,000 characters was cut at the
    8,000th: inside a quoted string (`v28: "key: value # ke`), so the view read as no YAML at all, and
    its pointer said `--field PATH` without naming the first field left out."""
    value = ("key: value # " * 21)[:270]
    fields = "".join(f'      v{n:02d}: "{value}"\n' for n in range(40))
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"prompts: ['{{{{v00}}}}']\ntests:\n  - id: many\n    vars:\n{fields}"
                     "    assert: [{type: contains, value: x}]\n")
    shown = run_cli("eval", "show", suite, "many")
    assert shown.code == 0
    *view, last = shown.out.rstrip("\n").split("\n")
    case = yaml.safe_load("\n".join(view[1:]))  # after the `# case` line: YAML whole fields only
    first = f"v{len(case['vars']):02d}"
    assert 20 < len(case["vars"]) < 40 and all(v == value for v in case["vars"].values())
    assert last.startswith("[... ") and last.endswith(
        f" bytes more, from vars.{first} on: read it with --field vars.{first}, or everything with --full]"), last
    assert run_cli("eval", "show", suite, "many", "--field", f"vars.{first}").out == value + "\n"


def test_a_capture_that_missed_the_template_names_the_variables_the_prompt_reads(
        example_cwd: Path, run_cli: Callable[..., CliResult]) -> None:
    """A backtest trace records only the end of the logql prompt ("Question: ..."), so `eval capture`
    could not match the suite's template and put the whole message in vars.input; it said so, and then
    only how to add an assertion: the case ran the prompt with {{question}} and {{labels}} empty."""
    res = run_cli("eval", "capture", SUITE, "--otlp", "backtest/traces/inv-0070.json", "--span-id",
                  "941c081826796c88", "--id", "latency-needs-logfmt")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].endswith("(did not match the prompt template: the whole message is vars.input)")
    assert lines[-2] == ("the suite's prompt reads vars.labels, vars.question: set each from vars.input, e.g. "
                         f"agentbook eval edit {SUITE} latency-needs-logfmt --set 'vars.labels=...' --unset vars.input")
    edited = run_cli("eval", "edit", SUITE, "latency-needs-logfmt", "--set", "vars.question=why is inventory failing?",
                     "--set", "vars.labels=service_name", "--unset", "vars.input")
    assert edited.code == 0, edited.err
    data = json.loads(run_cli("eval", "capture", SUITE, "--otlp", "backtest/traces/inv-0070.json", "--span-id",
                              "941c081826796c88", "--id", "again", "--json").out)
    assert data["matched_template"] is False and data["template_vars"] == ["labels", "question"]
