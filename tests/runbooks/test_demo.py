"""`agentbook demo`, the README's first command: the whole fix-prompt loop offline, asserted on its
real effects (branch, commits with trailers, before/after eval results, report) and on the README:
the human view rendered from the same run must show what README.md shows under "The two commands"
(tests/test_readme.py leaves `make demo` to this test, so the demo runs once)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult, git
from tests.test_readme import README_TEXT, demo_output, missing_lines

from agentbook.cli.demo import render_text


@pytest.mark.slow
def test_demo_runs_fix_prompt_end_to_end(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    res = run_cli("demo", "--workdir", tmp_path, "--act", "fix", "--json")  # act 2: tests/loop/test_example_loop.py
    assert res.code == 0, res.err
    d = json.loads(res.out)
    assert d["outcome"] == "completed"
    assert d["branch"] == "agentbook/fix-prompt/inc-142" and d["base"] == "main"
    assert [c["subject"] for c in d["commits"]] == ["fix-prompt: Add a case that reproduces the behaviour",
                                                    "fix-prompt: Change the prompt"]
    for commit in d["commits"]:
        assert commit["trailers"]["Agentbook-Run"] == [d["run_id"]]
        assert commit["trailers"]["Agentbook-Runbook"][0].startswith("fix-prompt@")
    assert d["commits"][1]["files"] == ["prompts/logql.md"]
    before, after = d["eval"]["before"], d["eval"]["after"]
    assert before["verdicts"]["errors-checkout-case-insensitive"] == "fail"
    assert after["verdicts"]["errors-checkout-case-insensitive"] == "pass"
    assert (before["passed"], before["total"], after["passed"], after["total"]) == (5, 6, 6, 6)
    assert Path(d["report"]).is_file()
    assert d["against_claude"].startswith("ANTHROPIC_API_KEY=... agentbook run fix-prompt --repo ")
    assert d["against_claude"].endswith("--model anthropic:claude-sonnet-4-5")
    repo = Path(d["repo"])
    assert git(repo, "log", "--format=%s", "main") == "incident-assistant: prompts, eval suites, traces\n"
    assert '|~ "(?i)error"' in git(repo, "show", f"{d['branch']}:prompts/logql.md")

    # the README's demo block is what a person sees for this very run
    text = render_text(d, before["verdicts"], after["verdicts"])
    assert missing_lines(demo_output(README_TEXT), text) == []


def test_demo_refuses_a_non_empty_workdir(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    (tmp_path / "incident-assistant").mkdir()
    (tmp_path / "incident-assistant" / "x").write_text("taken")
    res = run_cli("demo", "--workdir", tmp_path)
    assert res.code == 3
    assert f"agentbook: error: fixture destination is not empty: {tmp_path / 'incident-assistant'}" in res.err
