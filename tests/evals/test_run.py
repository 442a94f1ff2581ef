"""`eval run` end to end: the real SDK against the scripted stand-in, the cache, stored runs and diffs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentbook.evals.graders import PATTERN_SECONDS, grade, parse_verdict
from agentbook.evals.stats import pass_hat_k, repeat_stats, wilson
from agentbook.standin import ensure_server

SCRIPTS = Path(__file__).parent / "fixtures" / "scripts"
MODEL = f"scripted:{SCRIPTS / 'triage.script.yaml'}"
JUDGE = f"scripted:{SCRIPTS / 'judge.script.yaml'}"


def run_json(run_cli: Callable[..., Any], *args: str) -> tuple[int, dict[str, Any]]:
    res = run_cli("eval", "run", *args, "--model", MODEL, "--grader", JUDGE, "--json", "--full")
    return res.code, json.loads(res.out)


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in report["cases"]}


def test_run_grades_a_suite_and_exits_1_on_failures(run_cli: Callable[..., Any],
                                                      suite_copy: Callable[[str], Path]) -> None:
    folder = suite_copy("single")
    code, report = run_json(run_cli, str(folder))
    assert code == 1
    assert verdicts(report) == {"checkout-timeout": "pass", "case-cc0e6533": "fail", "json-summary": "fail"}
    disk = next(c for c in report["cases"] if c["id"] == "case-cc0e6533")["attempts"][0]
    assert disk["reason"] == ("contains: output contains 'disk'; not-contains: not: output contains 'network'")
    rubric = next(c for c in report["cases"] if c["id"] == "checkout-timeout")["attempts"][0]["asserts"]
    assert [a["type"] for a in rubric] == ["not-icontains", "icontains", "llm-rubric"]
    assert rubric[2] == {"type": "llm-rubric", "pass": True, "error": False, "score": 1.0,
                         "reason": "names payments and the timeout"}
    listed = run_cli("eval", "list", str(folder), "--filter", "result=fail", "--json")
    assert [c["id"] for c in json.loads(listed.out)["cases"]] == ["case-cc0e6533", "json-summary"]


def test_unparsable_rubric_verdict_is_an_error_not_a_pass(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("Question: {{question}}")
    (tmp_path / "suite.yaml").write_text(
        "prompts: [file://p.txt]\nproviders: [anthropic:messages:claude-haiku-4-5]\ntests:\n"
        "  - id: pirate\n    vars: {question: 'Why did checkout fail?'}\n    assert:\n"
        "      - type: llm-rubric\n        value: Explains it like a pirate\n")
    code, report = run_json(run_cli, str(tmp_path / "suite.yaml"))
    assert code == 2
    attempt = report["cases"][0]["attempts"][0]
    assert report["cases"][0]["verdict"] == "error"
    assert attempt["reason"] == "llm-rubric: unparsable grader verdict: 'Well, I would say it mostly does, arr.'"


def test_cache_skips_generation_and_no_cache_asks_again(run_cli: Callable[..., Any],
                                                        suite_copy: Callable[[str], Path]) -> None:
    folder = suite_copy("single")
    server = ensure_server(SCRIPTS / "triage.script.yaml")
    before = len(server.requests())
    _, first = run_json(run_cli, str(folder), "--case", "case-cc0e6533", "--repeat", "2")
    assert len(server.requests()) - before == 2  # one generation per repeat index
    assert first["summary"]["cache_misses"] == 2
    _, second = run_json(run_cli, str(folder), "--case", "case-cc0e6533", "--repeat", "2")
    assert len(server.requests()) - before == 2 and second["summary"]["cache_hits"] == 2
    _, third = run_json(run_cli, str(folder), "--case", "case-cc0e6533", "--repeat", "2", "--no-cache")
    assert len(server.requests()) - before == 4 and third["summary"]["cache_hits"] == 0
    cleared = run_cli("eval", "cache", "clear", str(folder), "--json")
    assert json.loads(cleared.out) == {"cleared": 2}


def test_split_layout_chat_prompt_sidecar_and_repeat_policy(run_cli: Callable[..., Any],
                                                           suite_copy: Callable[[str], Path]) -> None:
    folder = suite_copy("split")
    code, report = run_json(run_cli, str(folder / "suite.yaml"))
    assert code == 0, report
    auth = next(c for c in report["cases"] if c["id"] == "auth-expired")
    assert auth["stats"] == {"n": 3, "passes": 3, "pass_rate": 1.0, "wilson_low": 0.4385, "wilson_high": 1.0,
                             "pass_hat_k": {"1": 1.0, "2": 1.0, "3": 1.0}, "flaky": False, "min_pass": 2}
    server = ensure_server(SCRIPTS / "triage.script.yaml")
    sent = [r["body"] for r in server.requests() if "signing key expired" in json.dumps(r["body"])][-1]
    assert sent["system"] == "You are an on-call assistant. Answer using only the logs."
    assert "09:30:12 auth ERROR JWT signature invalid" in sent["messages"][0]["content"]


def test_diff_shows_flipped_cases(run_cli: Callable[..., Any], suite_copy: Callable[[str], Path]) -> None:
    folder = suite_copy("single")
    run_json(run_cli, str(folder))
    edited = run_cli("eval", "edit", str(folder), "case-cc0e6533", "--set", "assert[0].value=network",
                     "--set", "assert[1].type=not-contains", "--set", "assert[1].value=disk")
    assert edited.code == 0, edited.err
    code, _ = run_json(run_cli, str(folder))
    assert code == 1  # json-summary still fails
    diff = run_cli("eval", "diff", str(folder), "@2", "latest", "--json")
    assert json.loads(diff.out)["flipped"] == [{"id": "case-cc0e6533", "before": "fail", "after": "pass"}]


def test_undefined_template_variable_is_a_case_error(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("Question: {{ question }} {{ typo }}")
    (tmp_path / "suite.yaml").write_text("prompts: [file://p.txt]\nproviders: [anthropic:messages:x]\n"
                                         "tests:\n  - id: a\n    vars: {question: q}\n")
    code, report = run_json(run_cli, str(tmp_path / "suite.yaml"))
    assert code == 2
    assert report["cases"][0]["attempts"][0]["reason"] == "prompt file://p.txt: 'typo' is undefined " \
        "(add the variable to the case's vars or to defaultTest.vars)"


@pytest.mark.parametrize("assertion,output,passed", [
    ({"type": "equals", "value": "No incident."}, "No incident.", True),
    ({"type": "equals", "value": "No incident."}, "No incident", False),
    ({"type": "equals", "value": {"a": 1}}, '{"a": 1}', True),
    ({"type": "contains", "value": "disk"}, "the disk is full", True),
    ({"type": "contains", "value": "Disk"}, "the disk is full", False),
    ({"type": "icontains", "value": "Disk"}, "the disk is full", True),
    ({"type": "not-icontains", "value": "as an ai"}, "As an AI, I", False),
    ({"type": "regex", "value": r"\d{3}ms"}, "after 500ms", True),
    ({"type": "not-regex", "value": r"^(.*\n){3}."}, "a\nb\nc", True),
    ({"type": "not-regex", "value": r"^(.*\n){3}."}, "a\nb\nc\nd", False),
    ({"type": "starts-with", "value": "[critical]"}, "[critical] checkout", True),
    ({"type": "is-json"}, '{"a": 1}', True),
    ({"type": "is-json"}, 'x {"a": 1}', False),
    ({"type": "is-json", "value": {"type": "object", "required": ["b"]}}, '{"a": 1}', False),
    ({"type": "contains-json"}, 'x {"a": 1} y', True),
    ({"type": "contains-json", "value": {"required": ["cause"]}}, 'x {"a": 1} {"cause": 2}', True),
    ({"type": "contains-json", "value": {"required": ["cause"]}}, 'x {"a": 1}', False),
    ({"type": "not-contains-json"}, "no json here", True),
    ({"type": "contains-any", "value": ["x", "disk"]}, "disk", True),
    ({"type": "icontains-all", "value": "DISK, full"}, "disk full", True),
])
def test_deterministic_assertions(assertion: dict[str, Any], output: str, passed: bool) -> None:
    result = asyncio.run(grade(assertion, output, None))
    assert (result.passed, result.error) == (passed, False), result.reason


@pytest.mark.parametrize("assertion,reason", [
    ({"type": "python", "value": "len(output) > 3"}, "assertion type 'python' is not supported"),
    ({"type": "javascript", "value": "output.length > 3"}, "javascript is not supported here: needs node and a working sandbox"),
    ({"type": "regex", "value": "("}, "bad assertion value: /(/ is not a regular expression: missing ) at position 1"),
    ({"type": "llm-rubric", "value": "x"}, "no grader model (pass --grader SPEC)"),
    ({"type": "contains", "value": "a", "transform": "output.trim()"}, "`transform` is not supported"),
])
def test_bad_assertions_are_errors(assertion: dict[str, Any], reason: str) -> None:
    result = asyncio.run(grade(assertion, "abc", None))
    assert result.error and not result.passed and result.reason.startswith(reason)


HOSTILE = "(a|aa)+$"  # backtracks 2^n ways on n a's and a character it cannot end with


@pytest.mark.timeout(60)  # without the deadline, re ran each of these for hours holding the GIL
@pytest.mark.parametrize("assertion", [
    {"type": "regex", "value": HOSTILE},
    {"type": "not-regex", "value": HOSTILE},
    {"type": "is-json", "value": {"properties": {"x": {"pattern": HOSTILE}}}},
    {"type": "contains-json", "value": {"patternProperties": {HOSTILE: {"type": "string"}}}},
])
def test_a_pattern_that_backtracks_without_end_is_an_error_at_its_deadline(assertion: dict[str, Any]) -> None:
    answer = "a" * 40 + "!"
    result = asyncio.run(grade(assertion, f'{{"x": "{answer}", "{answer}": 1}}' if "json" in assertion["type"]
                               else answer, None))
    assert result.error and not result.passed
    assert result.reason == (f"bad assertion value: /{HOSTILE}/ ran over {PATTERN_SECONDS:g} s on the output "
                             "(a pattern that backtracks without end, such as (a|aa)+$)")


@pytest.mark.parametrize("schema,answer,passed", [
    ({"properties": {"x": {"pattern": "^a+$"}}}, '{"x": "aaa"}', True),
    ({"properties": {"x": {"pattern": "^a+$"}}}, '{"x": "aab"}', False),
    ({"patternProperties": {"^n_": {"type": "integer"}}}, '{"n_a": 1, "s": "x"}', True),
    ({"patternProperties": {"^n_": {"type": "integer"}}}, '{"n_a": "1"}', False),
])
def test_schema_patterns_still_mean_what_json_schema_says(schema: dict[str, Any], answer: str, passed: bool) -> None:
    result = asyncio.run(grade({"type": "is-json", "value": schema}, answer, None))
    assert (result.passed, result.error) == (passed, False), result.reason


@pytest.mark.parametrize("raw,expected", [
    ('{"pass": true, "score": 0.9, "reason": "ok"}', (True, 0.9, "ok")),
    ('Verdict:\n{"pass": false, "reason": "missing"} done', (False, 0.0, "missing")),
    ('{"pass": "yes"}', None),
    ("PASS", None),
    ("", None),
])
def test_verdict_parsing(raw: str, expected: tuple[bool, float, str] | None) -> None:
    assert parse_verdict(raw) == expected


def test_repeat_statistics() -> None:
    low, high = wilson(4, 5)
    assert (round(low, 4), round(high, 4)) == (0.3755, 0.9638)
    assert pass_hat_k(4, 5, 2) == pytest.approx(6 / 10)
    stats = repeat_stats([True, True, False, True, True], min_pass=4)
    assert stats["flaky"] and stats["passes"] == 4 and stats["pass_hat_k"] == {"1": 0.8, "2": 0.6, "3": 0.4,
                                                                                "5": 0.0}
    assert not repeat_stats([False] * 3, 1)["flaky"]


def test_promptfoo_shapes_txt_prompts_yaml12_scalars_refs_default_file(run_cli: Callable[..., Any],
                                                                       suite_copy: Callable[[str], Path]) -> None:
    folder = suite_copy("shapes")
    res = run_cli("eval", "run", str(folder), "--model", f"scripted:{SCRIPTS / 'french.script.yaml'}", "--json", "--full")
    report = json.loads(res.out)
    assert res.code == 0, report
    stored = json.loads(Path(report["stored"]).read_text())  # --json leaves model outputs in the run file
    first = stored["cases"][0]["attempts"][0]
    assert [o["prompt"] for o in first["outputs"]] == ["file://prompts.txt#1", "file://prompts.txt#2"]
    assert [o["output"] for o in first["outputs"]] == ["Oui.", "Oui."]
    assert [a["type"] for a in first["asserts"]] == ["not-icontains", "icontains"] * 2
    second = report["cases"][1]["attempts"][0]["asserts"]
    assert second[1] == {"type": "icontains", "pass": True, "error": False, "score": 1.0,
                         "reason": "output contains 'bonjour' (any case)", "prompt": "file://prompts.txt#1"}
    server = ensure_server(SCRIPTS / "french.script.yaml")
    sent = [r["body"]["messages"][0]["content"] for r in server.requests()]
    assert "Translate to French: Yes (sent at 10:02)" in sent  # not True / 602, as PyYAML's YAML 1.1 would


def test_list_vars_expand_into_every_combination(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("Question: {{question}} ({{tone}})")
    (tmp_path / "suite.yaml").write_text(
        "prompts: [file://p.txt]\ntests:\n  - id: both\n    vars:\n      question: [Is anything wrong?,"
        " 'Why did latency spike after the deploy?']\n      tone: calm\n    assert:\n"
        "      - type: not-icontains\n        value: I do not know\n"
        "  - id: literal\n    options: {disableVarExpansion: true}\n    vars: {question: [a, b], tone: x}\n")
    code, report = run_json(run_cli, str(tmp_path / "suite.yaml"))
    assert code == 0, report
    stored = json.loads(Path(report["stored"]).read_text())
    outputs = {c["id"]: c["attempts"][0]["outputs"] for c in stored["cases"]}
    assert [o["prompt"] for o in outputs["both"]] == ["file://p.txt [question=Is anything wrong?]",
                                                      "file://p.txt [question=Why did latency spike after the deploy?]"]
    assert [o["output"] for o in outputs["both"]] == ["No incident.", "The cache hit ratio collapsed after deploy 7f2c."]
    assert len(outputs["literal"]) == 1


def test_model_errors_make_the_case_an_error(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    script = tmp_path / "broken.script.yaml"
    script.write_text("version: 1\nmodel: scripted-broken\ndefault:\n  turns:\n"
                      "    - text: never sent\n      fault: {kind: status, status: 400}\n")
    (tmp_path / "p.txt").write_text("Q: {{q}}")
    (tmp_path / "suite.yaml").write_text("prompts: [file://p.txt]\ntests:\n  - id: a\n    vars: {q: x}\n"
                                         "    assert:\n      - type: contains\n        value: x\n")
    res = run_cli("eval", "run", str(tmp_path / "suite.yaml"), "--model", f"scripted:{script}", "--json", "--full")
    report = json.loads(res.out)
    assert res.code == 2
    assert report["cases"][0]["verdict"] == "error"
    assert report["cases"][0]["attempts"][0]["reason"].startswith("model error: ")


FLAKY_SUITE = """\
prompts: [file://p.txt]
providers: [anthropic:messages:claude-haiku-4-5]
tests:
  - id: deploy-lenient
    vars: {question: "Is the deploy safe? (change 101)"}
    min_pass: 3
    assert: [{type: starts-with, value: "Yes"}]
  - id: deploy-strict
    vars: {question: "Is the deploy safe? (change 102)"}
    min_pass: 4
    assert: [{type: starts-with, value: "Yes"}]
  - id: checkout
    vars: {question: "Why did checkout fail?"}
    assert: [{type: icontains, value: payments}]
"""


def test_repeat_flags_a_flaky_case_end_to_end(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    script = SCRIPTS / "flaky.script.yaml"
    (tmp_path / "p.txt").write_text("{{question}}")
    (tmp_path / "suite.yaml").write_text(FLAKY_SUITE)
    server = ensure_server(script)

    def run(*extra: str) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        before = len(server.requests())
        res = run_cli("eval", "run", str(tmp_path / "suite.yaml"), "--repeat", "5", *extra,
                      "--model", f"scripted:{script}", "--json", "--full")
        return res.code, json.loads(res.out), server.requests()[before:]

    code, report, sent = run("--no-cache")
    assert code == 1  # deploy-strict fails
    assert len(sent) == 15 and report["summary"]["cache_hits"] == 0  # 5 real requests per case
    per_case = {q: sum(q in json.dumps(r["body"]) for r in sent)
                for q in ("change 101", "change 102", "checkout")}
    assert per_case == {"change 101": 5, "change 102": 5, "checkout": 5}
    assert sorted(r["variant"] for r in sent if "change 101" in json.dumps(r["body"])) == [1, 2, 3, 4, 5]
    cases = {c["id"]: c for c in report["cases"]}
    flaky = {"n": 5, "passes": 3, "pass_rate": 0.6, "wilson_low": 0.2307, "wilson_high": 0.8824,
             "pass_hat_k": {"1": 0.6, "2": 0.3, "3": 0.1, "5": 0.0}, "flaky": True}
    assert cases["deploy-lenient"]["stats"] == {**flaky, "min_pass": 3}
    assert cases["deploy-strict"]["stats"] == {**flaky, "min_pass": 4}
    assert (flaky["wilson_low"], flaky["wilson_high"]) == tuple(round(x, 4) for x in wilson(3, 5))
    assert (cases["deploy-lenient"]["verdict"], cases["deploy-strict"]["verdict"]) == ("pass", "fail")
    assert [a["pass"] for a in cases["deploy-strict"]["attempts"]].count(False) == 2
    assert cases["checkout"]["verdict"] == "pass"
    assert cases["checkout"]["stats"] == {"n": 5, "passes": 5, "pass_rate": 1.0, "wilson_low": 0.5655,
                                          "wilson_high": 1.0, "flaky": False, "min_pass": 5,
                                          "pass_hat_k": {"1": 1.0, "2": 1.0, "3": 1.0, "5": 1.0}}
    assert report["summary"] == {**report["summary"], "cases": 3, "passed": 2, "failed": 1, "errors": 0,
                                 "flaky": 2}

    # the same again, asked afresh: the server's count carries on but a 5-cycle tallies the same
    code, again, sent = run("--no-cache")
    assert code == 1 and len(sent) == 15
    assert {c["id"]: (c["verdict"], c["stats"]) for c in again["cases"]} == \
        {c["id"]: (c["verdict"], c["stats"]) for c in report["cases"]}

    # with the cache (keyed by repeat index) the first run asks 5 times per case, the next asks nothing
    _, filled, sent = run()
    assert len(sent) == 15 and filled["summary"]["cache_misses"] == 15
    _, cached, sent = run()
    assert sent == [] and cached["summary"]["cache_hits"] == 15
    assert {c["id"]: c["stats"] for c in cached["cases"]} == {c["id"]: c["stats"] for c in filled["cases"]}
    assert cached["cases"][0]["stats"]["flaky"] and cached["summary"]["flaky"] == 2

    text = run_cli("eval", "run", str(tmp_path / "suite.yaml"), "--repeat", "5", "--model",
                   f"scripted:{script}")
    assert "deploy-strict" in text.out and "3/5 [0.23, 0.88] pass^5=0.00 flaky" in text.out


def test_a_failing_case_shows_what_the_model_answered(run_cli: Callable[..., Any],
                                                      suite_copy: Callable[[str], Path]) -> None:
    """In text, in --json and so in a gate's output: the answer, bounded, with where the rest is."""
    folder = suite_copy("single")
    code, report = run_json(run_cli, str(folder))
    assert code == 1
    cases = {c["id"]: c for c in report["cases"]}
    answer = cases["case-cc0e6533"]["answer"]
    stored = json.loads(Path(report["stored"]).read_text())
    full = next(c for c in stored["cases"] if c["id"] == "case-cc0e6533")["attempts"][0]["outputs"][0]["output"]
    assert answer["text"] == full[:300] and answer["chars"] == len(full) and answer["attempt"] == 0
    assert "answer" not in cases["checkout-timeout"]  # a pass shows no answer
    text = run_cli("eval", "run", str(folder), "--model", MODEL, "--grader", JUDGE)
    assert text.code == 1
    lines = text.out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL  case-cc0e6533"))
    assert lines[at + 1].strip().startswith("failed: contains: output contains 'disk'")
    assert lines[at + 2] == f"      answered (attempt 1): {json.dumps(full)}" and len(full) < 300


def test_a_long_failing_answer_is_cut_with_a_pointer(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    script = tmp_path / "long.script.yaml"
    script.write_text("version: 1\nmodel: scripted-long\ndefault:\n  turns:\n    - text: " + "word " * 400 + "\n")
    (tmp_path / "p.txt").write_text("Q: {{q}}")
    (tmp_path / "suite.yaml").write_text("prompts: [file://p.txt]\ntests:\n  - id: refund-monthly\n    vars: {q: x}\n"
                                         "    assert:\n      - type: equals\n        value: billing\n")
    res = run_cli("eval", "run", str(tmp_path / "suite.yaml"), "--model", f"scripted:{script}")
    assert res.code == 1
    first, reason, answered, summary = res.out.splitlines()
    assert first.startswith("FAIL  refund-monthly") and reason.strip().startswith("failed: equals: ")
    run_id = summary.split()[1].rstrip(":")
    assert answered.startswith('      answered (attempt 1): "' + "word " * 60 + '"')  # 300 chars, quoted
    suite = tmp_path / "suite.yaml"
    assert answered.endswith(f'" [... {len("word " * 400) - 1 - 300} chars more: agentbook eval show {suite} '
                             f'refund-monthly --run {run_id}]')
    # the pointer is a command, not a 78 KB run file to read: it prints the whole stored answer
    whole = run_cli("eval", "show", str(suite), "refund-monthly", "--run", run_id)
    assert whole.code == 0 and whole.out.splitlines() == [
        f"# case refund-monthly in run {run_id} with scripted:{script}: fail (0/1 attempts passed)",
        "attempt 1: fail", "  failed: equals: output equals 'billing'", "  answer to file://p.txt:",
        ("word " * 400).strip()]
