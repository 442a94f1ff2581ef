"""`agentbook validate [PATH...]`: strict checks of skills, runbooks and eval suites."""

from __future__ import annotations

from pathlib import Path

import click

from agentbook.catalog.findings import Finding
from agentbook.catalog.profiles import DEFAULT_PROFILE, PROFILES
from agentbook.catalog.validate import ValidationReport, validate
from agentbook.cli.output import emit_jsonl, json_option
from agentbook.errors import EXIT_FINDINGS, EXIT_OK

MAX_SHOWN = 40  # findings printed in human mode; --json prints them all


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--profile", type=click.Choice(list(PROFILES)), default=DEFAULT_PROFILE, show_default=True,
              help="spec: the Agent Skills spec exactly; claude-code: also Claude Code's keys; "
                   "anthropic: also the API upload rules.")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@click.option("--watch", is_flag=True, help="Re-validate on every save; print only what changed (Ctrl-C stops).")
@json_option
def command(paths: tuple[Path, ...], profile: str, strict: bool, watch: bool, as_json: bool) -> int:
    """Check skills (SKILL.md), runbooks (runbooks/*.md) and eval suites.

    With no PATH: the catalog of the current repository (skills/, .claude/skills/, .agents/skills/,
    runbooks/, and eval suites under evals/ and examples/). Findings read FILE:LINE:COL:
    severity[rule]: message (how to fix). Exit 0 clean, 1 findings, 2 usage error.
    """
    if watch:
        return _watch(list(paths), profile, strict, as_json)
    report = validate(list(paths), profile)
    if as_json:
        emit_jsonl([f.to_json() for f in report.findings])
    else:
        _print_findings(report.findings)
        click.echo(summary(report))
    return exit_code(report, strict)


def exit_code(report: ValidationReport, strict: bool) -> int:
    failing = report.errors + (report.warnings if strict else 0)
    return EXIT_FINDINGS if failing else EXIT_OK


def _print_findings(findings: list[Finding]) -> None:
    for finding in findings[:MAX_SHOWN]:
        click.echo(finding.render())
    if len(findings) > MAX_SHOWN:
        click.echo(f"[... {len(findings) - MAX_SHOWN} more findings: run with --json for all, or validate fewer paths]")


def summary(report: ValidationReport) -> str:
    counts = ", ".join(_plural(n, _LABELS[kind]) for kind, n in report.checked.items()
                       if n or kind not in ("analysis", "ticket"))  # three kinds always, others when there were any
    text = f"checked {counts}: {_plural(report.errors, 'error')}, {_plural(report.warnings, 'warning')}"
    if report.suites_skipped:
        text += f" ({_plural(report.suites_skipped, 'eval suite')} not checked: the eval-suite validator is not installed)"
    return text


_LABELS = {"skill": "skill", "runbook": "runbook", "suite": "eval suite", "analysis": "backtest analysis", "ticket": "ticket"}


def _plural(n: int, word: str) -> str:
    if n != 1:
        word = word[:-2] + "es" if word.endswith("is") else word + "s"  # analysis -> analyses
    return f"{n} {word}"


def _watch(paths: list[Path], profile: str, strict: bool, as_json: bool) -> int:
    from agentbook.catalog.watch import watch

    def show(new: list[Finding], fixed: list[Finding], report: ValidationReport) -> None:
        if as_json:
            emit_jsonl([{**f.to_json(), "change": "new"} for f in new]
                       + [{**f.to_json(), "change": "fixed"} for f in fixed])
            return
        _print_findings(new)
        for finding in fixed[:MAX_SHOWN]:
            click.echo(f"fixed: {finding.render()}")
        click.echo(summary(report))

    report = watch(paths, profile, show)
    return exit_code(report, strict)
