"""`agentbook models list`: configured model backends and the price table."""

from __future__ import annotations

import click

from agentbook.cli.output import emit_json, json_option
from agentbook.models.listing import list_aliases, list_backends, list_prices


@click.group(name="models")
def command() -> None:
    """Model backends (anthropic:, compat:, scripted:) and their prices."""


@command.command(name="list")
@json_option
def list_cmd(as_json: bool) -> None:
    """Show each backend, whether it is ready, and USD prices per million tokens."""
    backends, aliases, prices = list_backends(), list_aliases(), list_prices()
    if as_json:
        emit_json({"backends": backends, "aliases": aliases, "prices": prices})
        return
    for b in backends:
        state = "ready" if b["ready"] else "not ready"
        click.echo(f"{b['backend']:<10} {state:<10} {b['spec']}")
        click.echo(f"{'':<10} key: {b['key']}")
        for script in b.get("scripts", []):
            click.echo(f"{'':<10} script: {script}")
    names = aliases["aliases"]
    click.echo(f"\naliases ({aliases['file']}): {'none' if not names else ''}")
    for name, spec in list(names.items())[:20]:
        click.echo(f"  {name:<12} {spec}")
    if len(names) > 20:
        click.echo(f"  ... {len(names) - 20} more: agentbook models list --json")
    click.echo(f"\nprices ({prices['unit']}; batch x{prices['batch_discount']}; from {prices['source']}):")
    click.echo(f"{'model':<20} {'input':>7} {'output':>7} {'write5m':>8} {'write1h':>8} {'read':>6}")
    for name, p in prices["models"].items():
        click.echo(f"{name:<20} {p['input']:>7.2f} {p['output']:>7.2f} {p['cache_write_5m']:>8.2f} "
                   f"{p['cache_write_1h']:>8.2f} {p['cache_read']:>6.2f}")
    d = prices["default_for_unpriced"]
    click.echo(f"other models are costed at input {d['input']:.2f} / output {d['output']:.2f} and marked estimated")
