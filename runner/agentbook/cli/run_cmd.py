"""`agentbook run RUNBOOK`: a runbook on a ticket becomes an agent session committing on its own branch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from agentbook.cli.output import bounded, emit_json, json_option
from agentbook.errors import UsageError


@click.command("run")
@click.argument("runbook", required=False)
@click.option("--ticket", metavar="FILE|-", help="Ticket: Markdown with front-matter, gh issue JSON, or - for stdin.")
@click.option("--input", "inputs", multiple=True, metavar="NAME=VALUE", help="A runbook input (repeatable).")
@click.option("--repo", type=click.Path(path_type=Path), default=Path(), show_default=True, help="The repository.")
@click.option("--base", metavar="REF", help="Branch from REF (default: the checked-out branch).")
@click.option("--branch", metavar="NAME", help="Branch name instead of the runbook's template.")
@click.option("--model", metavar="SPEC", help="anthropic:MODEL, compat:URL#MODEL or scripted:FILE.script.yaml.")
@click.option("--agent", metavar="AGENT", help="Who works the steps: agentbook (default), claude-code, command:'ARGV'.")
@click.option("--max-usd", type=float, help="Spend limit in USD (overrides the runbook's).")
@click.option("--max-turns", type=int, help="Model round limit (overrides the runbook's).")
@click.option("--timeout", metavar="DURATION", help="Wall-clock limit, e.g. 45m (overrides the runbook's).")
@click.option("--gate-retries", type=int, help="How often a failing check goes back to the agent (default 2).")
@click.option("--push", is_flag=False, flag_value="origin", default=None, metavar="[REMOTE]",
              help="Push the run's branch (to origin unless named: --push=REMOTE).")
@click.option("--open-pr", is_flag=True, help="Open a GitHub pull request (implies --push).")
@click.option("--dry-run", is_flag=True, help="Print the system prompt, tools, limits, branch and steps; call no model.")
@click.option("--resume", "resume", metavar="RUN_ID", help="Continue a killed or interrupted run.")
@click.option("--secret", "secrets", multiple=True, metavar="NAME",
              help="Also treat the value of environment variable NAME as a secret (repeatable).")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "none-i-accept-the-risk"]), default="auto",
              show_default=True, help="Where bash and the gates run: the jail, or unconfined if you accept the risk.")
@click.option("--limit", "limit_flags", multiple=True, metavar="NAME=VALUE",
              help="A sandbox limit over the runbook's limits.sandbox, e.g. memory=2G (repeatable).")
@click.option("--allow-ci-changes", is_flag=True,
              help="Let the agent change CI configuration (.github/workflows, .gitlab-ci.yml, ...); else restored, blocked.")
@click.option("--run-id", hidden=True, help="Use this run id (agentbook watch assigns ids up front).")
@json_option
def command(runbook: str | None, ticket: str | None, inputs: tuple[str, ...], repo: Path, base: str | None,
            branch: str | None, model: str | None, agent: str | None, max_usd: float | None, max_turns: int | None,
            timeout: str | None, gate_retries: int | None, push: str | None, open_pr: bool, dry_run: bool,
            resume: str | None, secrets: tuple[str, ...], sandbox: str, limit_flags: tuple[str, ...],
            allow_ci_changes: bool, run_id: str | None, as_json: bool) -> int:
    """Run RUNBOOK on a ticket in its own worktree and branch; exit code is the typed outcome."""
    from agentbook.runbooks.executor import dry_run as plan_only
    from agentbook.runbooks.executor import resume_run, start_run
    from agentbook.runbooks.inputs import parse_cli_inputs
    from agentbook.runbooks.plan import RunOptions
    from agentbook.runbooks.record import compact_json
    from agentbook.session.limits import parse_flags

    if resume:
        if runbook or ticket or inputs or dry_run or secrets or agent or limit_flags or sandbox != "auto" \
                or allow_ci_changes:
            raise UsageError("--resume RUN_ID takes no RUNBOOK, --ticket, --input, --dry-run, --secret, --agent, "
                             "--sandbox, --limit or --allow-ci-changes (the run keeps the ones it started with)")
        result = resume_run(repo, resume)
    else:
        opts = RunOptions(runbook=runbook, ticket=ticket, inputs=parse_cli_inputs(inputs), repo=repo, base=base,
                          branch=branch, model=model, max_usd=max_usd, max_turns=max_turns, timeout=timeout,
                          gate_retries=gate_retries, push=push, open_pr=open_pr, run_id=run_id, secrets=list(secrets),
                          sandbox=sandbox, limits=parse_flags(limit_flags),
                          stdin_text=sys.stdin.read() if ticket == "-" else None, agent=agent,
                          allow_ci_changes=allow_ci_changes)
        if dry_run:
            plan = plan_only(opts)
            emit_json(plan) if as_json else click.echo(_plan_text(plan))
            return 0
        result = start_run(opts)
    if as_json:
        emit_json(compact_json(result.to_json()))
    else:
        click.echo(_result_text(result.to_json()))
    return result.exit_code


def _plan_text(plan: dict[str, Any]) -> str:
    limits = ", ".join(f"{k}={v}" for k, v in plan["limits"].items() if v is not None)
    lines = [f"runbook  {plan['runbook']}", f"model    {plan['model']}", f"agent    {plan['agent']}",
             f"branch   {plan['branch']} (from {plan['base']} {plan['base_sha'][:12]})",
             f"tools    {', '.join(plan['tools'])}", f"skills   {', '.join(plan['skills']) or '-'}",
             f"limits   {limits}, gate_retries={plan['gate_retries']}",
             f"inputs   {', '.join(f'{k}={v}' for k, v in plan['inputs'].items()) or '-'}", "",
             "--- system prompt ---", plan["system"].rstrip(), "", "--- steps ---"]
    for s in plan["steps"]:
        lines.append(f"## {s['index']}. {s['title']}")
        lines.append(bounded(s["body"].strip(), 1200, "agentbook run --dry-run --json shows all"))
        lines += [f"   check: {g}" for g in s["gates"]]
    lines.append("\n(dry run: no worktree, no branch, no model call)")
    return "\n".join(lines)


def _result_text(r: dict[str, Any]) -> str:
    outcome = r["outcome"] or {}
    commits = [s for s in r["steps"] if s["commit"]]
    lines = [f"run {r['run_id']}: {outcome.get('kind')}" + (f" ({outcome['message']})" if outcome.get("message")
                                                            else ""),
             f"branch {r['branch']} from {r['base']}: {len(commits)} commit{'s' if len(commits) != 1 else ''}"]
    for s in r["steps"]:
        checks = " ".join("pass" if g["exit_code"] == 0 else f"FAIL({g['exit_code']})" for g in s["gates"])
        lines.append(f"  {s['index']}. {s['title'][:60]:<60} {s['status']:<8} {(s['commit'] or '-')[:10]:<10} "
                     f"{checks}".rstrip())
    agent = (r.get("options") or {}).get("agent") or "agentbook"
    by = "" if agent == "agentbook" else f" by {agent}"
    lines.append(f"model {r['model']}{by}: {r['turns']} turns, ${r['cost_usd']:.4f}"
                 f"{' (estimated)' if r['cost_estimated'] else ''}, {r['seconds']:.1f}s")
    lines += r["notes"]
    lines.append(f"report {_shown(Path(r['run_dir']) / 'report.md')}")
    if outcome.get("kind") in ("api_error", "crashed"):
        lines.append(f"resume with: agentbook run --resume {r['run_id']}")
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """A path relative to the current folder when it is inside it (shorter, and copy-pastable)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
