"""`agentbook version`: the installed version, the commit it was built from, and where its catalog is."""

from __future__ import annotations

import click

from agentbook.cli.output import emit_json
from agentbook.version import describe


@click.command("version")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: version, commit, modified, source, "
              "python, package, catalog.")
def command(as_json: bool) -> int:
    """Show the agentbook version and the commit it was built from."""
    info = describe()
    if as_json:
        emit_json(info)
        return 0
    click.echo(f"agentbook {info['version']}")
    commit = info["commit"] or "unknown"
    click.echo(f"commit    {commit}{' (modified)' if info['modified'] else ''}")
    click.echo(f"from      {info['source']}: {info['package']}")
    click.echo(f"catalog   {info['catalog'] or 'not found'}")
    click.echo(f"python    {info['python']}")
    return 0
