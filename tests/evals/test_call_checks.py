"""promptfoo's `latency` and `cost` assertions, graded on the model call that made the output: a real suite
(ChunkyTortoise/docextract) put `latency: 8000` in `defaultTest`, and every one of its 200 cases was an error
("assertion type 'latency' is not supported") while `validate --strict` passed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

SLOW = ("version: 1\nmodel: slow\ndefault:\n  turns:\n    - text: ok\n"
        "      fault: {kind: stall, after_events: 1, seconds: 0.4}\n")
FAST = "version: 1\nmodel: fast\ndefault:\n  turns: [{text: ok}]\n"


def _suite(tmp_path: Path, asserts: str) -> Path:
    (tmp_path / "p.txt").write_text("Say ok to {{who}}")
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts: [file://p.txt]\nproviders: [echo]\n"
                     f"defaultTest:\n  assert: {asserts}\n"
                     "tests:\n- id: one\n  vars: {who: me}\n"
                     "- id: recorded\n  vars: {who: you}\n  providerOutput: ok\n")
    return suite


def _run(run_cli: Callable[..., Any], suite: Path, script: Path, *extra: str) -> dict[str, Any]:
    res = run_cli("eval", "run", suite, "--model", f"scripted:{script}", "--json", "--full", *extra)
    return {c["id"]: c for c in json.loads(res.out)["cases"]}


def test_latency_and_cost_are_the_calls(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    suite = _suite(tmp_path, "[{type: latency, threshold: 30000}, {type: cost, threshold: 0.01}]")
    fast = tmp_path / "fast.script.yaml"
    fast.write_text(FAST)
    cases = _run(run_cli, suite, fast)
    checks = cases["one"]["attempts"][0]["asserts"]
    assert [(a["type"], a["pass"]) for a in checks] == [("latency", True), ("cost", True)]
    assert checks[0]["reason"].startswith("the call took ") and checks[0]["reason"].endswith("<= 30000 ms")
    # a recorded output had no call to time or price: an error, not a pass
    recorded = cases["recorded"]
    assert recorded["verdict"] == "error" and "no model call made this output" in recorded["attempts"][0]["reason"]
    # a cached answer keeps the time of the call that made it
    res = run_cli("eval", "run", suite, "--model", f"scripted:{fast}", "--json", "--full", "--case", "one")
    report = json.loads(res.out)
    again = report["cases"][0]["attempts"][0]
    assert report["summary"]["cache_hits"] == 1 and again["asserts"][0]["pass"]
    assert again["asserts"][0]["reason"].endswith("(the call that made this cached answer)")


def test_a_slow_call_fails_latency_and_a_threshold_is_needed(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    slow = tmp_path / "slow.script.yaml"
    slow.write_text(SLOW)
    suite = _suite(tmp_path, "[{type: latency, threshold: 100}]")
    case = _run(run_cli, suite, slow, "--case", "one")["one"]
    assert case["verdict"] == "fail", case
    assert "> 100 ms" in case["attempts"][0]["asserts"][0]["reason"]
    no_threshold = _suite(tmp_path, "[{type: latency}]")
    case = _run(run_cli, no_threshold, slow, "--case", "one")["one"]
    assert case["verdict"] == "error" and "latency needs a numeric `threshold` (ms)" in case["attempts"][0]["reason"]
    assert run_cli("validate", "--strict", suite).code == 0  # a type eval run grades
