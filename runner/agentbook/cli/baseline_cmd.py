"""`agentbook baseline save|check|show SUITE`: hold a prompt change to the suite's earlier numbers.

Runbook gates use it: `save` on the unchanged prompt, `check` after the change (exit 1 when a case
that passed no longer does, the pass rate drops, a case was edited, or with --shorter the prompt did
not get shorter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from agentbook.cli.output import emit_json, json_option
from agentbook.cli.suitearg import suite_arg
from agentbook.errors import EXIT_FINDINGS, EXIT_OK

model_opt = click.option("--model", help="Model spec for the run (default: the suite's provider).")
grader_opt = click.option("--grader", help="Model spec for llm-rubric checks (default: the suite's "
                          "defaultTest.options.provider, else --model); check uses the baseline's unless given.")
prompt_opt = click.option("--prompt", type=click.Path(path_type=Path, dir_okay=False),
                          help="The prompt file whose token count is recorded and compared (the suite itself: the "
                               "prompts it writes inline; SUITE:LINE: the one written at that line).")


@click.group("baseline")
def command() -> None:
    """Record a suite's results on the unchanged prompt, then check a change against them."""


@command.command("save")
@suite_arg
@model_opt
@prompt_opt
@grader_opt
@json_option
def save_cmd(suite: Path, model: str | None, prompt: Path | None, grader: str | None, as_json: bool) -> int:
    """Run the whole suite and record the result as the baseline (failing cases are allowed; cases
    that could not run are not: nothing is saved)."""
    from agentbook.workflows import baseline

    snap = baseline.take(suite, model, prompt, grader)
    baseline.check_savable(snap, suite, model)
    path = baseline.save(snap, suite)
    # the agent's own save (its bash in a run): a copy for its own checks; the gates compare with theirs
    note = "for your own checks only: the run's gates compare with the baseline their save step recorded" \
        if baseline.unread_by_gates() else None
    if as_json:
        emit_json({**snap.to_json(), "path": str(path), "note": note})
    else:
        click.echo(f"baseline {_numbers(snap)} (run {snap.run_id}, {snap.model})")
        click.echo(f"saved {path}" + (f" ({note})" if note else ""))
    return EXIT_OK


@command.command("check")
@suite_arg
@model_opt
@prompt_opt
@click.option("--shorter", is_flag=True, help="Also require the prompt's token count to have dropped.")
@grader_opt
@click.option("--other-model", is_flag=True, help="Compare even though --model (or --grader) differs from the "
              "baseline's.")
@json_option
def check_cmd(suite: Path, model: str | None, prompt: Path | None, shorter: bool, grader: str | None,
              other_model: bool, as_json: bool) -> int:
    """Run the whole suite again and compare with the baseline; exit 1 on any regression or error."""
    from agentbook.evals.runner import suite_model
    from agentbook.evals.store import open_suite
    from agentbook.workflows import baseline

    before = baseline.load(suite, model, prompt)
    # before the run, which may cost money: without --model the run is the suite's providers: model
    baseline.check_model(before, model or suite_model(open_suite(suite)), other_model=other_model)
    baseline.check_prompt(before, prompt)
    grader = baseline.check_grader(before, grader, other_model=other_model)
    after = baseline.take(suite, model, prompt or (Path(before.prompt) if before.prompt else None), grader)
    baseline.check_model(before, after.model, other_model=other_model)
    result = baseline.compare(before, after, require_shorter=shorter)
    if as_json:
        emit_json(result.to_json())
        return EXIT_OK if result.ok else EXIT_FINDINGS
    click.echo(f"before {_numbers(before)} (run {before.run_id})")
    click.echo(f"after  {_numbers(after)} (run {after.run_id})")
    for r in result.regressions[:20]:
        failed = "failed: " if r["after"] == "fail" else ""  # the reason names the check, not its result
        click.echo(f"  regression {r['id']}: {r['before']} -> {r['after']}"
                   + (f"; {failed}{r['reason']}" if r.get("reason") else ""))
        if r.get("answer"):
            click.echo(f"      answered: {json.dumps(r['answer'], ensure_ascii=False)}")
    _more(result.regressions, "regressions")
    for c in result.new_cases[:20]:
        click.echo(f"  new case   {c['id']}: {c['verdict']}")
    _more(result.new_cases, "new cases")
    for case_id in result.changed_cases[:20]:
        click.echo(f"  changed    {case_id}")
    _more(result.changed_cases, "changed cases")
    for problem in result.problems:
        click.echo(f"FAIL: {problem}")
    if result.ok:
        click.echo("ok: no regressions" + (", prompt shorter" if shorter else ""))
    return EXIT_OK if result.ok else EXIT_FINDINGS


@command.command("show")
@suite_arg
@json_option
def show_cmd(suite: Path, as_json: bool) -> int:
    """Print the recorded baseline."""
    from agentbook.workflows import baseline

    snap = baseline.load(suite)
    if as_json:
        emit_json(snap.to_json())
    else:
        click.echo(f"baseline {_numbers(snap)} (run {snap.run_id}, {snap.model})")
        click.echo(_verdict_lines(snap.verdicts))
    return EXIT_OK


def _verdict_lines(verdicts: dict[str, str]) -> str:
    """Every case when the list is short; else the cases that did not pass (the ones a later check
    must not blame on a change), bounded, and a count of the passes left out."""
    from agentbook.cli.output import DEFAULT_BUDGET, bounded

    lines = [f"  {verdict:<5} {case_id}" for case_id, verdict in verdicts.items()]
    text = "\n".join(lines)
    if len(text) <= DEFAULT_BUDGET:
        return text
    failing = [f"  {verdict:<5} {case_id}" for case_id, verdict in verdicts.items() if verdict != "pass"]
    text = bounded("\n".join(failing), DEFAULT_BUDGET, "--json lists every case")
    passing = len(lines) - len(failing)
    return (text + "\n" if text else "") + f"[{passing} passing cases not listed: --json lists every case]"


def _more(items: list[Any], what: str, shown: int = 20) -> None:
    if len(items) > shown:
        click.echo(f"  [{len(items) - shown} more {what} not shown: --json lists every one]")


def _numbers(snap: object) -> str:
    from agentbook.workflows.baseline import Snapshot

    assert isinstance(snap, Snapshot)
    text = f"{snap.passed}/{snap.total} passed ({snap.pass_rate:.0%})"
    if snap.prompt_tokens is not None and snap.prompt is not None and snap.prompts is not None:
        text += f", the {snap.prompts} prompt{'s' if snap.prompts != 1 else ''} written in {snap.prompt} " \
            f"{snap.prompt_tokens} tokens"
    elif snap.prompt_tokens is not None and snap.prompt is not None:
        text += f", prompt {snap.prompt} {snap.prompt_tokens} tokens"
    elif snap.prompt_tokens is not None:
        text += f", the suite's {snap.prompts} prompt{'s' if snap.prompts != 1 else ''} {snap.prompt_tokens} tokens"
    return text
