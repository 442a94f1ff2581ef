"""`agentbook demo`: the README's first command. The fix-prompt runbook on the bundled example system
with the scripted model: a branch, commits with trailers, eval results before/after, a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agentbook.cli.output import emit_json, json_option
from agentbook.errors import EXIT_OK


@click.command("demo")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Empty folder for the example repository (default: a new temporary folder, kept).")
@json_option
def command(workdir: Path | None, as_json: bool) -> int:
    """Run fix-prompt on the example system's ticket with the scripted model (no API key needed)."""
    from agentbook.workflows.demo import run_demo

    result = run_demo(workdir)
    data = result.to_json()
    if as_json:
        emit_json(data)
    else:
        click.echo(render_text(data, result.before.verdicts, result.after.verdicts))
    code = result.run.get("exit_code", EXIT_OK)
    return int(code)


def render_text(d: dict[str, Any], before: dict[str, str], after: dict[str, str]) -> str:
    ev = d["eval"]
    lines = ["agentbook demo: the fix-prompt runbook on the incident-assistant example (scripted model)",
             f"example repo  {d['repo']}",
             "ticket        tickets/INC-142-logql-error-case.md",
             f"run           {d['run_id']}: {d['outcome']}, {d['turns']} model turns, ${d['cost_usd']:.2f}",
             f"branch        {d['branch']} (from {d['base']}, {len(d['commits'])} commit{'s' if len(d['commits']) != 1 else ''})", "",
             f"git log --format='%h %s%n%(trailers)' {d['base']}..{d['branch']}"]
    for c in reversed(d["commits"]):
        lines.append(f"{c['sha'][:10]} {c['subject']}")
        lines += [f"    {k}: {v}" for k, values in c["trailers"].items() for v in values]
    lines += ["", f"eval {ev['suite']} with {ev['model']}", f"  {'case':<36} {'before':<8} after"]
    for case_id in sorted(set(before) | set(after)):
        lines.append(f"  {case_id:<36} {before.get(case_id, '-'):<8} {after.get(case_id, '-')}")
    b, a = ev["before"], ev["after"]
    lines += [f"  {'total':<36} {b['passed']}/{b['total']:<6} {a['passed']}/{a['total']}",
              "  (before: the new case on the old prompt; after: the branch head)", "",
              f"report        {d['report']}",
              f"took          {d['seconds']}s", "",
              "Run it against Claude instead of the scripted model:",
              f"  {d['against_claude']}"]
    return "\n".join(lines)
