"""Dead ends an agent met following the skills in another repository than the example: a promptfoo
workshop (a suite at the root, the prompt in a file, llm-rubric checks, no API key), with agentbook
installed from a wheel, so the only documentation was the skills, the runbooks and `--help`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import CliResult, git

SUITE = """\
description: Promptfoo Workshop Evaluations
prompts:
  - file://prompts/tweet.txt
providers:
  - openai:gpt-4o-mini
defaultTest:
  assert:
    - type: not-contains
      value: AI language model
tests:
  - vars: {topic: bananas}
    assert:
      - type: icontains
        value: banana
      - type: llm-rubric
        value: rate how funny this tweet is on a scale from 1-10
"""
SUT = """\
version: 1
model: scripted
sessions:
  - name: bananas
    match: {first_user: bananas}
    turns: [{text: "Bananas: nature's way of saying snack time is a-peeling. #bananas"}]
  - name: reviews
    match: {first_user: "Review: "}
    turns: [{text: negative}]
default: {turns: [{text: Here is a tweet.}]}
"""
GRADER = """\
version: 1
model: scripted
default: {turns: [{text: '{"pass": true, "score": 1, "reason": "funny enough"}'}]}
"""
MODEL = "scripted:evals/sut.script.yaml"
GRADED_BY = "scripted:evals/grader.script.yaml"


@pytest.fixture
def workshop(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (git_repo / "promptfooconfig.yaml").write_text(SUITE)
    (git_repo / "prompts").mkdir()
    (git_repo / "prompts" / "tweet.txt").write_text("Write a concise, funny tweet about {{topic}}\n")
    (git_repo / "evals").mkdir()
    (git_repo / "evals" / "sut.script.yaml").write_text(SUT)
    (git_repo / "evals" / "grader.script.yaml").write_text(GRADER)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "workshop")
    monkeypatch.chdir(git_repo)
    return git_repo


def test_a_rubric_graded_by_the_model_under_test_says_how_to_name_a_grader(
        workshop: Path, run_cli: Callable[..., CliResult]) -> None:
    """With no grader named, llm-rubric asked the model under test, whose tweet is no verdict: the run
    ended `unparsable grader verdict: 'Bananas: ...'` (exit 2) with nothing saying what a grader is."""
    res = run_cli("eval", "run", "promptfooconfig.yaml", "--model", MODEL)
    assert res.code == 2
    assert res.out.splitlines()[-1] == (
        "llm-rubric: scripted:evals/sut.script.yaml (the model under test, as neither --grader nor "
        "defaultTest.options.provider names a grader) did not answer a verdict; a grader replies with "
        '{"pass": true|false, "score": 0..1, "reason": "..."}: pass --grader SPEC or set '
        "defaultTest.options.provider in the suite")
    graded = run_cli("eval", "run", "promptfooconfig.yaml", "--model", MODEL, "--grader", GRADED_BY)
    assert graded.code == 0 and "llm-rubric" not in graded.out


def test_baseline_takes_the_grader_eval_run_does(workshop: Path, run_cli: Callable[..., CliResult]) -> None:
    """`baseline save` had no --grader: on a suite with llm-rubric checks and no grader in it, nothing
    could be saved ('could not run'), so fix-prompt's first gate could not pass."""
    saved = run_cli("baseline", "save", "promptfooconfig.yaml", "--model", MODEL, "--grader", GRADED_BY,
                    "--prompt", "prompts/tweet.txt")
    assert saved.code == 0, saved.err
    assert saved.out.startswith("baseline 1/1 passed (100%), prompt prompts/tweet.txt ")
    checked = run_cli("baseline", "check", "promptfooconfig.yaml", "--model", MODEL)  # the baseline's grader
    assert (checked.code, checked.out.splitlines()[-1]) == (0, "ok: no regressions")
    other = run_cli("baseline", "check", "promptfooconfig.yaml", "--model", MODEL, "--grader", MODEL)
    assert (other.code, other.err) == (3, (
        "agentbook: error: the baseline was graded by scripted:evals/grader.script.yaml, this check grades with "
        "scripted:evals/sut.script.yaml (check with --grader scripted:evals/grader.script.yaml (or leave --grader "
        "out), or pass --other-model to compare anyway)\n"))


def test_the_standin_help_holds_a_script_that_works(workshop: Path, run_cli: Callable[..., CliResult]) -> None:
    """`agentbook standin --help` sent an agent to runner/agentbook/standin/README.md, which an installed
    agentbook does not have: the only way to learn how to write the `scripted:` eval model a ticket
    needs. The help now carries a short script, which must be one `standin check` accepts and whose
    session answers the case it shows."""
    help_text = run_cli("standin", "--help").out
    block = help_text.split("in short:\n", 1)[1].split("\n  A grader", 1)[0]
    script = "\n".join(line[2:] for line in block.splitlines())
    Path("evals/help.script.yaml").write_text(script + "\n")
    checked = run_cli("standin", "check", "--script", "evals/help.script.yaml")
    assert (checked.code, checked.out) == (0, "ok: evals/help.script.yaml: sessions: hashtags (1 turns); default: 1\n")
    res = run_cli("eval", "run", "promptfooconfig.yaml", "--model", "scripted:evals/help.script.yaml",
                  "--grader", GRADED_BY)
    assert res.code == 0 and "1 passed" in res.out


TWO_PROMPTS = """\
prompts:
  - "Determine if the following movie review expresses a positive or negative opinion. Reply with exactly one word: 'positive' or 'negative'.\\n\\nReview: {{text}}"
  - "Is this movie review positive or negative? Answer with a single word: 'positive' or 'negative'.\\n\\nReview: {{text}}"
tests:
  - vars: {text: A waste of two hours.}
    assert: [{type: icontains, value: negative}]
"""
ONE_PROMPT = """\
prompts:
  - "Is this movie review positive or negative? Answer with one word: 'positive' or 'negative'.\\n\\nReview: {{text}}"
tests:
  - vars: {text: A waste of two hours.}
    assert: [{type: icontains, value: negative}]
"""


def test_consolidating_prompts_written_in_the_suite_is_measured(
        workshop: Path, run_cli: Callable[..., CliResult]) -> None:
    """Two near-duplicate prompts written in the suite (promptfoo's usual form) made one: --prompt takes a
    file, so `baseline check --shorter` could only say 'no prompt token count to compare'. Without
    --prompt the baseline now measures every prompt the suite lists."""
    Path("imdb.yaml").write_text(TWO_PROMPTS)
    saved = run_cli("baseline", "save", "imdb.yaml", "--model", MODEL)
    assert saved.code == 0
    assert saved.out.startswith("baseline 1/1 passed (100%), the suite's 2 prompts 68 tokens (run ")
    Path("imdb.yaml").write_text(ONE_PROMPT)
    checked = run_cli("baseline", "check", "imdb.yaml", "--model", MODEL, "--shorter")
    assert checked.code == 0, checked.out
    assert checked.out.splitlines()[1].startswith("after  1/1 passed (100%), the suite's 1 prompt 27 tokens (run ")
    assert checked.out.splitlines()[-1] == "ok: no regressions, prompt shorter"
    a_file = run_cli("baseline", "check", "imdb.yaml", "--model", MODEL, "--prompt", "prompts/tweet.txt")
    assert (a_file.code, a_file.err) == (3, ("agentbook: error: the baseline measured the suite's 2 prompt(s), this "
                                            "check would measure prompts/tweet.txt (check without --prompt, or save "
                                            "a new baseline with --prompt)\n"))


def test_a_check_failed_on_each_prompt_is_named_once(workshop: Path, run_cli: Callable[..., CliResult]) -> None:
    """The workshop's tweet suite runs three prompts: a check that failed on each was printed three times
    on the case's line, which is cut at 240 characters, so the other checks that failed never showed."""
    Path("tweets.yaml").write_text(
        'prompts: ["Write a tweet about {{topic}}", "Write a concise, funny tweet about {{topic}}",\n'
        '          "Write a tweet about {{topic}} that would get at least 100 retweets"]\n'
        "tests:\n  - id: tweet-no-hashtags\n    vars: {topic: bananas}\n"
        "    assert: [{type: not-regex, value: '#\\w+'}, {type: icontains, value: rent}]\n")
    res = run_cli("eval", "run", "tweets.yaml", "--model", MODEL)
    assert res.code == 1
    assert res.out.splitlines()[1] == ("      failed: not-regex: not: output matches /#\\w+/ (3 times); "
                                       "icontains: output contains 'rent' (any case) (3 times)")
