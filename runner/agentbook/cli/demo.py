"""`agentbook demo`: the README's first command. The fix-prompt runbook on the bundled example system
with the scripted model: a branch, commits with trailers, eval results before/after, a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agentbook.cli.output import emit_json, json_option
from agentbook.errors import EXIT_FINDINGS, EXIT_OK, FatalError
from agentbook.version import extra_hint


@click.command("demo")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Empty folder for the example repository (default: a new temporary folder, kept).")
@click.option("--act", type=click.Choice(["all", "fix", "loop"]), default="all", show_default=True,
              help="fix: fix-prompt on the example's ticket; loop: the example's backtest, fix tickets, close-loop "
                   "with a right and a wrong fix; all: both, in one example repository.")
@json_option
def command(workdir: Path | None, act: str, as_json: bool) -> int:
    """Run fix-prompt on the example system's ticket, then close the loop on its backtest (scripted models,
    no API key needed)."""
    from agentbook.workflows.demo import make_example, run_demo
    from agentbook.workflows.demo_loop import missing_dependency, render_loop, run_loop_demo

    data: dict[str, Any] = {}
    code = EXIT_OK
    lines: list[str] = []
    repo = None
    if act in ("all", "fix"):
        result = run_demo(workdir)
        data = result.to_json()
        repo = result.repo
        lines.append(render_text(data, result.before.verdicts, result.after.verdicts))
        code = int(result.run.get("exit_code", EXIT_OK))
    missing = missing_dependency() if act in ("all", "loop") else None
    if missing and act == "loop":
        raise FatalError(f"act 2 (close the loop) clusters failures and needs {missing}",
                         hint=f"make demo installs it; or {extra_hint('demo')}")
    if act in ("all", "loop") and not missing and code == EXIT_OK:
        loop = run_loop_demo(repo or make_example(workdir)).to_json()
        data["loop"] = loop
        lines += render_loop(loop)
        caught = all(fix["ready"] for fix in loop["right"]) and not loop["wrong"]["ready"]
        code = EXIT_OK if caught else EXIT_FINDINGS
    elif missing:
        data["loop"] = {"skipped": f"needs {missing}: {extra_hint('demo')}"}
        lines += ["", f"Act 2 (close the loop) skipped: it needs {missing} (make demo installs it; or {extra_hint('demo')})."]
    if as_json:
        emit_json(data)
    else:
        click.echo("\n".join(lines))
    return code


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
