"""`agentbook validate TICKET.md`: a ticket is checked as the runner reads it, never as a runbook."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import git

TICKET = """---
id: TW-1
title: Tweets come back full of hashtags
runbook: add-eval
inputs:
  suite: {suite}
  case: tweet-no-hashtags
  eval_model: scripted:evals/sut.script.yaml
  behaviour: The tweet carries no hashtags.
---
Marketing says every generated tweet ends in hashtags.
"""


def _repo(git_repo: Path, suite: str = "promptfooconfig.yaml") -> Path:
    (git_repo / "promptfooconfig.yaml").write_text("prompts: [file://prompts/tweet.txt]\ntests: []\n")
    (git_repo / "evals").mkdir()
    (git_repo / "evals" / "sut.script.yaml").write_text("version: 1\ndefault: {turns: [{text: ok}]}\n")
    (git_repo / "tickets").mkdir()
    (git_repo / "tickets" / "TW-1.md").write_text(TICKET.format(suite=suite))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "suite and ticket")
    return git_repo / "tickets" / "TW-1.md"


def test_a_good_ticket_is_clean_and_counted_as_a_ticket(run_cli, git_repo: Path) -> None:
    res = run_cli("validate", _repo(git_repo))
    assert (res.code, res.out) == (0, "checked 0 skills, 0 runbooks, 0 eval suites, 1 ticket: 0 errors, 0 warnings\n")


def test_a_ticket_with_a_missing_suite_names_the_input_line(run_cli, git_repo: Path) -> None:
    ticket = _repo(git_repo, suite="evals/nope.yaml")
    res = run_cli("validate", "--json", ticket)
    (row,) = [json.loads(line) for line in res.out.splitlines()]
    assert res.code == 1
    assert (row["line"], row["rule"], row["message"]) == (
        6, "ticket", "input 'suite': path 'evals/nope.yaml' does not exist in the repository")


def test_a_file_written_but_not_committed_is_reported_as_the_runner_would(run_cli, git_repo: Path) -> None:
    ticket = _repo(git_repo, suite="new.yaml")
    (git_repo / "new.yaml").write_text("tests: []\n")  # on disk, not at HEAD: a run would not see it
    res = run_cli("validate", ticket)
    assert res.code == 1 and "error[ticket]: input 'suite': path 'new.yaml' does not exist" in res.out


def test_a_ticket_naming_an_unknown_runbook_points_at_its_line(run_cli, git_repo: Path) -> None:
    ticket = _repo(git_repo)
    ticket.write_text(ticket.read_text().replace("runbook: add-eval", "runbook: add-evals"))
    res = run_cli("validate", ticket)
    assert res.code == 1
    assert res.out.splitlines()[0] == (f"{ticket}:4:1: error[ticket]: no runbook named 'add-evals' (known runbooks: "
                                       "add-eval, analyze-backtest, consolidate-prompt, fix-prompt)")


def test_an_unknown_ticket_key_is_the_runners_error(run_cli, git_repo: Path) -> None:
    ticket = _repo(git_repo)
    ticket.write_text(ticket.read_text().replace("title:", "priority: high\ntitle:"))
    res = run_cli("validate", ticket)
    assert res.code == 1
    assert res.out.startswith(f"{ticket}:3:1: error[ticket]: unknown ticket key 'priority' (ticket keys are: ")


def test_inputs_written_at_the_top_are_named_in_order_and_sent_under_inputs(run_cli, git_repo: Path) -> None:
    """Dogfood: a ticket written as `suite: ...` / `case: ...` beside `runbook:` was refused on 'behaviour'
    (the first key in sorted order, two lines below the first wrong one), saying nothing of `inputs:`."""
    ticket = _repo(git_repo)
    ticket.write_text(ticket.read_text().replace("inputs:\n  suite:", "suite:").replace("\n  case:", "\ncase:")
                      .replace("\n  eval_model:", "\neval_model:").replace("\n  behaviour:", "\nbehaviour:"))
    res = run_cli("validate", ticket)
    assert (res.code, res.out.splitlines()[0]) == (1, (
        f"{ticket}:5:1: error[ticket]: unknown ticket key 'suite' (also 'case', 'eval_model', 'behaviour') (ticket "
        "keys are: agent, co-authored-by, cohort, id, inputs, labels, runbook, title; a runbook's inputs go under "
        "`inputs:` (`inputs: {suite: ...}` if it is one))"))


def test_a_runbook_is_still_checked_as_a_runbook(run_cli, git_repo: Path) -> None:
    page = git_repo / "notes.md"
    page.write_text("---\nname: triage\n---\n## Look\n")
    res = run_cli("validate", page)
    assert res.code == 1 and "error[schema]: missing required key 'description'" in res.out


def test_a_folder_of_tickets_is_checked_ticket_by_ticket(run_cli, git_repo: Path) -> None:
    """`agentbook validate tickets/` said 'no SKILL.md, runbook or eval suite found here'."""
    ticket = _repo(git_repo)
    (ticket.parent / "README.md").write_text("# Tickets\n\nOne a file.\n")
    (ticket.parent / "TW-2.md").write_text(TICKET.format(suite="gone.yaml").replace("TW-1", "TW-2"))
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "another ticket")
    res = run_cli("validate", ticket.parent)
    assert res.code == 1
    assert res.out.splitlines() == [
        (f"{ticket.parent / 'TW-2.md'}:6:1: error[ticket]: input 'suite': path 'gone.yaml' does not exist in the "
        "repository (paths are checked at the base commit; commit the file first)"),
        "checked 0 skills, 0 runbooks, 0 eval suites, 2 tickets: 1 error, 0 warnings"]


def test_a_prompt_written_in_the_suite_is_named_by_its_line(run_cli, git_repo: Path) -> None:
    """fix-prompt's `prompt` for one of several prompts a suite writes inline: SUITE:LINE, taken when the
    file exists at the base commit (kevinschaul/llm-evals writes all its prompts so)."""
    ticket = _repo(git_repo)
    text = ticket.read_text().replace("runbook: add-eval", "runbook: fix-prompt")
    ticket.write_text(text.replace("inputs:\n", "inputs:\n  prompt: promptfooconfig.yaml:1\n"))
    git(git_repo, "commit", "-qam", "fix-prompt ticket")
    assert run_cli("validate", ticket).code == 0
    ticket.write_text(ticket.read_text().replace("prompt: promptfooconfig.yaml:1", "prompt: nope.yaml:1"))
    res = run_cli("validate", ticket)
    assert (res.code, res.out.splitlines()[0]) == (1, (
        f"{ticket}:6:1: error[ticket]: input 'prompt': path 'nope.yaml:1' does not exist in the repository "
        "(paths are checked at the base commit; commit the file first)"))
