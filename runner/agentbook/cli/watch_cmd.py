"""`agentbook watch DIR`: run every ticket dropped in DIR, N at a time, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agentbook.cli.output import json_option


@click.command("watch")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--concurrency", type=int, default=2, show_default=True, help="Runs at the same time.")
@click.option("--repo", type=click.Path(path_type=Path), default=Path(), show_default=True)
@click.option("--runbook", help="Runbook for tickets that do not name one.")
@click.option("--model", metavar="SPEC", help="Model spec passed to every run.")
@click.option("--max-usd", type=float, help="Spend limit per run.")
@click.option("--timeout", metavar="DURATION", help="Wall-clock limit per run.")
@click.option("--push", is_flag=False, flag_value="origin", default=None, metavar="[REMOTE]")
@click.option("--open-pr", is_flag=True)
@click.option("--once", is_flag=True, help="Handle the tickets already there, then exit (1 if one failed).")
@json_option
def command(directory: Path, concurrency: int, repo: Path, runbook: str | None, model: str | None,
            max_usd: float | None, timeout: str | None, push: str | None, open_pr: bool, once: bool,
            as_json: bool) -> int:
    """Start a run for each ticket file (*.md, *.json, *.txt) in DIR; state in DIR/.agentbook-watch/."""
    from agentbook.cli.output import emit_jsonl
    from agentbook.runbooks.watch import Watcher

    args: list[str] = [runbook] if runbook else []
    for flag, value in (("--model", model), ("--max-usd", max_usd), ("--timeout", timeout)):
        if value is not None:
            args += [flag, str(value)]
    if push:
        args.append(f"--push={push}")
    if open_pr:
        args.append("--open-pr")

    def emit(state: dict[str, Any]) -> None:
        if as_json:
            emit_jsonl([state])
        else:
            extra = f" exit {state['exit_code']}" if state["exit_code"] is not None else ""
            click.echo(f"{state['updated_at']} {state['ticket']}: {state['status']}"
                       f"{' ' + state['run_id'] if state['run_id'] else ''}{extra}"
                       f"{' - ' + state['error'].splitlines()[-1] if state['error'] else ''}")

    return Watcher(directory, repo=repo, concurrency=concurrency, run_args=args, once=once, emit=emit).run()
