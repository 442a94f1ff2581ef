"""consolidate-prompt's commands on a suite whose prompts are written inline (`prompts: ["...{{var}}..."]`,
`- id: x` / `raw: ...`), as its agent runs them: `eval prompts` finds the prompts and the lines that write
them without reading the suite whole; `baseline save/check --prompt SUITE` measures the prompts the suite
writes (not its cases); and since the suite is then not protected, a check fails when anything but its
prompts changed. The end-to-end run is `consolidate-prompt-inline.test.yaml`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT, CliResult, git

FIXTURE = REPO_ROOT / "tests" / "runbooks" / "fixtures" / "inline-prompts"
MODEL = "scripted:evals/sut.script.yaml"
SUITE = "evals/sentiment.yaml"
ONE_PROMPT = ("prompts:\n  - \"Is this film review positive or negative? Answer with one word: 'positive' or "
              "'negative'.\\n\\nReview: {{review}}\"\n\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(FIXTURE, dest)
    git(dest, "init", "-q")
    monkeypatch.chdir(dest)
    return dest


def _merge_prompts(repo: Path) -> None:
    suite = repo / SUITE
    text = suite.read_text()
    suite.write_text(text[:text.index("prompts:")] + ONE_PROMPT + text[text.index("providers:"):])


def test_eval_prompts_names_each_prompt_its_lines_and_tokens(repo: Path, run_cli: Callable[..., CliResult]) -> None:
    res = run_cli("eval", "prompts", SUITE)
    assert res.code == 0, res.err
    assert res.out.splitlines() == [
        "3 prompts in evals/sentiment.yaml, 132 tokens (as agentbook baseline counts them)",
        "[1] inline, evals/sentiment.yaml:5, 42 tokens",
        ("    Decide whether this film review is favourable or unfavourable. Please reply with just one word, either "
        "'positive' or 'negative', and nothing else."),
        "    ",
        "    Review: {{review}}",
        "[2] inline, evals/sentiment.yaml:6, 46 tokens",
        ("    You will read a review of a film. Tell me if the reviewer's opinion of the film is positive or negative. "
        "Reply with only the single word 'positive' or 'negative'."),
        "    ",
        "    Review: {{review}}",
        "[3] polarity: inline, evals/sentiment.yaml:7-8, 44 tokens",
        ("    Classify the polarity of the following film review. Did the reviewer enjoy the film or not? Your answer "
        "must be exactly one word: 'positive' or 'negative'."),
        "    ",
        "    Review: {{review}}",
        ("inline prompts are edited in evals/sentiment.yaml itself, at the lines shown (read just those lines); "
        "agentbook baseline ... --prompt evals/sentiment.yaml counts every prompt the suite runs"),
    ]
    data = json.loads(run_cli("eval", "prompts", SUITE, "--json").out)
    assert [(p["label"], p["source"], p["location"], p["tokens"]) for p in data["prompts"]][2] == \
        ("polarity", "inline", "evals/sentiment.yaml:7-8", 44)
    assert data["tokens"] == 132


def test_a_prompt_file_is_named_where_it_is(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.txt").write_text("First {{q}}\n---\nSecond {{q}}\n")
    (tmp_path / "evals").mkdir()
    suite = tmp_path / "evals" / "s.yaml"
    suite.write_text("prompts:\n  - file://../prompts/p.txt\ntests:\n  - vars: {q: x}\n")
    lines = run_cli("eval", "prompts", suite).out.splitlines()
    assert lines == [f"2 prompts in {suite}, 6 tokens (as agentbook baseline counts them)",
                     f"[1] file, {tmp_path}/prompts/p.txt (named at {suite}:2), 3 tokens", "    First {{q}}",
                     f"[2] file, {tmp_path}/prompts/p.txt (named at {suite}:2), 3 tokens", "    Second {{q}}"]


def test_the_suite_as_prompt_measures_its_prompts_and_holds_the_rest(repo: Path,
                                                                   run_cli: Callable[..., CliResult]) -> None:
    saved = run_cli("baseline", "save", SUITE, "--model", MODEL, "--prompt", SUITE)
    assert saved.code == 0, saved.err
    assert saved.out.startswith("baseline 2/2 passed (100%), the 3 prompts written in evals/sentiment.yaml "
                                "132 tokens (run ")
    _merge_prompts(repo)
    checked = run_cli("baseline", "check", SUITE, "--model", MODEL, "--prompt", SUITE, "--shorter")
    assert checked.code == 0, checked.out + checked.err
    assert checked.out.splitlines()[1].startswith("after  2/2 passed (100%), the 1 prompt written in "
                                                  "evals/sentiment.yaml 28 tokens (run ")
    assert checked.out.splitlines()[-1] == "ok: no regressions, prompt shorter"
    # the suite is writable for its prompts' sake: its checks and providers are held by the check instead
    suite = repo / SUITE
    suite.write_text(suite.read_text().replace('value: "^(positive|negative)$"', 'value: ".*"')
                     .replace('"openai:gpt-4o-mini"', '"openai:gpt-4o"'))
    res = run_cli("baseline", "check", SUITE, "--model", MODEL, "--prompt", SUITE, "--shorter")
    assert res.code == 1
    assert res.out.splitlines()[-1] == ("FAIL: the suite's defaultTest, providers changed since the baseline (only "
                                        "its prompts may change: hold the prompt to the suite's checks, do not edit "
                                        "them)")
    # a baseline saved without --prompt is checked with the suite as --prompt: the same measure
    suite.write_text(suite.read_text().replace('value: ".*"', 'value: "^(positive|negative)$"')
                     .replace('"openai:gpt-4o"', '"openai:gpt-4o-mini"'))
    assert run_cli("baseline", "save", SUITE, "--model", MODEL).code == 0
    same = run_cli("baseline", "check", SUITE, "--model", MODEL, "--prompt", SUITE)
    assert (same.code, same.out.splitlines()[-1]) == (0, "ok: no regressions")


def test_a_measured_prompt_file_cannot_be_swapped_for_another(example_repo: Path, run_cli: Callable[..., CliResult],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite is no longer protected: pointing it at a new short prompt and emptying the measured one
    would pass --shorter with a prompt the suite no longer runs."""
    monkeypatch.chdir(example_repo)
    alerts, prompt = "evals/summarise-alert.yaml", "prompts/summarise-alert.md"
    assert run_cli("baseline", "save", alerts, "--model", MODEL, "--prompt", prompt).code == 0
    (example_repo / "prompts" / "short.md").write_text("Summarise {{alert}}\n")
    suite = example_repo / alerts
    suite.write_text(suite.read_text().replace("file://../prompts/summarise-alert.md", "file://../prompts/short.md"))
    (example_repo / prompt).write_text("x\n")
    res = run_cli("baseline", "check", alerts, "--model", MODEL, "--prompt", prompt, "--shorter")
    assert res.code == 1
    assert res.out.splitlines()[-1] == ("FAIL: the suite's prompts: list changed since the baseline, which measured "
                                        "the prompt prompts/summarise-alert.md: change that file, not which prompts "
                                        "the suite runs")
