"""`agentbook demo`: agentbook's main job on the bundled example. For now: validate the catalog and
list it (a later issue swaps in the runbook demo)."""

from __future__ import annotations

import click

from agentbook.catalog.loader import load_catalog, shipped_root
from agentbook.catalog.validate import relative_to_cwd, validate
from agentbook.cli.catalog_cmds import runbook_json, skill_json
from agentbook.cli.output import emit_json, json_option
from agentbook.cli.validate import exit_code, summary
from agentbook.errors import FatalError


@click.command("demo")
@json_option
def command(as_json: bool) -> int:
    """Validate agentbook's own skills and runbooks, then list them."""
    root = shipped_root()
    if root is None:
        raise FatalError("cannot find agentbook's catalog", hint="reinstall agentbook")
    places = [relative_to_cwd(root / sub) for sub in ("skills", "runbooks") if (root / sub).is_dir()]
    report = validate(places, root=root)
    catalog = load_catalog(root, shipped=None)
    if as_json:
        emit_json({"findings": [f.to_json() for f in report.findings], "checked": report.checked,
                   "skills": [skill_json(s) for s in catalog.skills],
                   "runbooks": [runbook_json(r) for r in catalog.runbooks]})
        return exit_code(report, strict=False)
    click.echo(f"== validate {root}")
    for finding in report.findings[:40]:
        click.echo(finding.render())
    click.echo(summary(report))
    click.echo(f"\n== skills ({len(catalog.skills)})")
    for skill in catalog.skills:
        click.echo(f"  {skill.name:<22} {skill.description[:90]}")
    click.echo(f"\n== runbooks ({len(catalog.runbooks)})")
    for rb in catalog.runbooks:
        click.echo(f"  {rb.name:<22} {len(rb.steps)} steps  {rb.description[:80]}")
    return exit_code(report, strict=False)
