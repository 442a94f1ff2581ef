"""Dead ends an agent working a shipped runbook met in `agentbook run`: each test runs the runbook on the
example system's ticket with a scripted agent that does what the step's text says, and asserts what the
agent could know at the step that needed it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

SHORTER = """\
Summarise this firing Alertmanager alert for the on-call engineer who was just paged:

{{alert}}

- At most three lines.
- Line 1: the severity in lower case in square brackets, then the service (label
  `service_name`), e.g. `[critical] checkout`.
- Line 2: what is wrong, with the numbers from the annotations.
- Line 3, only if the annotations have a runbook URL: `Runbook: <url>`. Never invent one.
- Say only what the alert says: no causes, no first person, no greeting or sign-off.
"""

# The summary step's answer quotes the numbers when the agent was shown them, and says so when not.
AGENT = {
    "version": 1, "model": "scripted-agent",
    "sessions": [{"name": "consolidate", "match": {"system": 'agentbook runbook "consolidate-prompt"'}, "turns": [
        {"text": "Read the prompt; the check records the baseline."},
        {"tool_use": {"name": "write", "input": {"path": "prompts/summarise-alert.md", "content": SHORTER}}},
        {"text": "Merged the length rules and dropped the filler."},
        {"when": [
            {"if": {"last_user": {"regex": r"before (?P<b>\d+/\d+) passed[^\n]* (?P<bt>\d+) tokens[^\n]*\n"
                                           r"after +(?P<a>\d+/\d+) passed[^\n]* (?P<at>\d+) tokens"}},
             "text": "Pass rate {b} -> {a}; prompt {bt} -> {at} tokens."},
            {"text": "The check's numbers were never shown to me."}]}]}]}


def test_the_summary_step_sees_the_numbers_the_last_check_printed(
        example_cwd: Path, tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """consolidate-prompt's last step: "Report the prompt's token count and the suite's pass rate,
    before and after (`agentbook baseline check` printed both)". The check ran as the previous step's
    gate, and a passing gate's output never reached the agent: it could only guess the numbers or run
    the whole suite again."""
    agent = tmp_path / "agent.script.yaml"
    agent.write_text(json.dumps(AGENT))
    res = run_cli("run", "consolidate-prompt", "--ticket", "tickets/CHORE-7-consolidate-summarise-alert.md",
                  "--model", f"scripted:{agent}", "--json")
    assert res.code == 0, res.out + res.err
    run = json.loads(res.out)
    report = (example_cwd / ".agentbook" / "runs" / run["run_id"] / "report.md").read_text()
    last_words = report.split("## The agent's last words", 1)[1]
    assert "Pass rate 4/4 -> 4/4; prompt 327 -> " in last_words, last_words


def test_a_refused_ticket_starts_again_once_it_is_fixed(
        git_repo: Path, tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    """`agentbook watch DIR --once` with a ticket naming a runbook with a typo: it failed (exit 3) and the
    watcher exited 0. Fixed and watched again, the ticket was never retried and nothing was printed:
    the failed state was final, and neither the help nor the README said how to start it again."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ticket = inbox / "t1.md"
    ticket.write_text("---\nid: t1\nrunbook: consolidate-promtp\n---\nShorten it.\n")
    first = run_cli("watch", inbox, "--repo", git_repo, "--once")
    assert first.code == 1
    assert "t1.md: failed" in first.out and "no runbook named 'consolidate-promtp'" in first.out
    ticket.write_text("---\nid: t1\nrunbook: consolidate-prompt\n---\nShorten it.\n")  # still lacks inputs
    second = run_cli("watch", inbox, "--repo", git_repo, "--once")
    assert second.code == 1
    assert "t1.md: running" in second.out and "input 'prompt'" in second.out, second.out
    third = run_cli("watch", inbox, "--repo", git_repo, "--once")  # unchanged: left alone, and said so
    assert third.code == 0
    assert third.out.splitlines()[-1].endswith(
        "left alone: failed earlier (edit the ticket to start it again if it was refused before its run began; "
        "else delete its state file)")
