"""`agentbook runs list|show ID`: read the run records in `.agentbook/runs/`."""

from __future__ import annotations

from pathlib import Path

import click

from agentbook.cli.output import bounded, emit_json, json_option

repo_option = click.option("--repo", type=click.Path(path_type=Path), default=Path(), show_default=True)


@click.group("runs")
def command() -> None:
    """List and show runs of `agentbook run`."""


@command.command("list")
@repo_option
@click.option("--limit", type=int, default=20, show_default=True, help="Newest N runs.")
@json_option
def list_cmd(repo: Path, limit: int, as_json: bool) -> int:
    """The newest runs, one line each."""
    from agentbook.gitops.repo import open_repo
    from agentbook.runbooks.record import list_runs

    runs = list_runs(open_repo(repo).root)
    shown = runs[:limit]
    if as_json:
        emit_json([{"run_id": r.run_id, "status": r.status, "runbook": r.runbook, "branch": r.branch,
                    "commits": sum(1 for s in r.steps if s.commit), "cost_usd": r.cost_usd,
                    "started_at": r.started_at} for r in shown])
        return 0
    if not runs:
        click.echo("no runs yet (agentbook run RUNBOOK starts one)")
    # columns as wide as the widest shown: a run id holds its runbook's name, so ids differ in length
    ids, branches = max((len(r.run_id) for r in shown), default=0), max((len(r.branch) for r in shown), default=0)
    counts = [sum(1 for s in r.steps if s.commit) for r in shown]
    made = [f"{n} commit{'s' if n != 1 else ''}" for n in counts]
    width = max(map(len, made), default=0)
    for r, commits in zip(shown, made, strict=True):
        click.echo(f"{r.run_id:<{ids}}  {r.status:<16} {r.branch:<{branches}}  {commits:<{width}}  ${r.cost_usd:.4f}")
    if len(runs) > limit:
        click.echo(f"[{len(runs) - limit} older runs: --limit {len(runs)} shows all]")
    return 0


@command.command("show")
@click.argument("run_id")
@repo_option
@json_option
def show_cmd(run_id: str, repo: Path, as_json: bool) -> int:
    """One run: its record and report."""
    from agentbook.gitops.repo import open_repo
    from agentbook.runbooks.record import compact_json, find_run

    rd = find_run(open_repo(repo).root, run_id)
    record = rd.load()
    if as_json:
        emit_json({**compact_json(record.to_json()), "run_dir": str(rd.path)})
        return 0
    report = rd.report.read_text(encoding="utf-8") if rd.report.exists() else \
        f"run {record.run_id}: {record.status} (no report yet)\n"
    click.echo(bounded(report, more_hint=f"see {rd.report}"))
    return 0
