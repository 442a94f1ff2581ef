"""`agentbook test-runbook NAME`: run a runbook end to end on a fresh fixture repo with its scripted
session, and check the branch, commits, trailers, files, gates and report it left behind."""

from __future__ import annotations

from pathlib import Path

import click

from agentbook.cli.output import emit_json, json_option
from agentbook.errors import EXIT_FINDINGS, EXIT_OK, UsageError


@click.command("test-runbook")
@click.argument("name", required=False)
@click.option("--dir", "spec_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of NAME.test.yaml specs (default: ./tests/runbooks, then agentbook's own).")
@click.option("--list", "list_only", is_flag=True, help="List the runbook tests that can be run.")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Empty folder for the fixture repository (default: a new temporary folder, kept).")
@json_option
def command(name: str | None, spec_dir: Path | None, list_only: bool, workdir: Path | None, as_json: bool) -> int:
    """Test runbook NAME: fixture repo, scripted agent, real runner, real gates; exit 1 if a check fails."""
    from agentbook.workflows import runbook_test as rt

    dirs = [spec_dir] if spec_dir else rt.spec_dirs(Path.cwd())
    if list_only:
        specs = rt.list_specs(dirs)
        if as_json:
            emit_json([{"name": n, "spec": str(p)} for n, p in specs.items()])
        else:
            click.echo("\n".join(f"{n:<24} {_shown(p)}" for n, p in specs.items()) or "no runbook tests found")
        return EXIT_OK
    if not name:
        raise UsageError("name a runbook test (see `agentbook test-runbook --list`)")
    result = rt.run_test(rt.load_spec(rt.find_spec(name, dirs)), workdir)
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(_text(result.to_json()))
    return EXIT_OK if result.ok else EXIT_FINDINGS


def _shown(path: Path) -> str:
    """A path relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _text(r: dict[str, object]) -> str:
    checks = r["checks"]
    assert isinstance(checks, list)
    lines = [(f"runbook test {r['name']}: {'ok' if r['ok'] else 'FAILED'} "
             f"(run {r['run_id']}, outcome {r['outcome']}, prompt {r['prompt_tokens']} tokens)")]
    lines += [f"  {'ok  ' if c['ok'] else 'FAIL'} {c['check']:<22} {c['detail']}" for c in checks]
    lines += [f"fixture repo {r['repo']}", f"report {r['report']}"]
    return "\n".join(lines)
