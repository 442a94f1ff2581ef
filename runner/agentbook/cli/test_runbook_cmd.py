"""`agentbook test-runbook NAME`: run a runbook end to end on a fresh fixture repo with its scripted
session, and check the branch, commits, trailers, files, gates and report it left behind."""

from __future__ import annotations

from pathlib import Path

import click

from agentbook.cli.output import emit_json, json_option
from agentbook.errors import EXIT_FINDINGS, EXIT_OK, UsageError

# A spec is a repository file a pull request may write: its setup runs jailed unless the user names the risk
# (agentbook.session.sandbox.UNCONFINED; not imported, so `--help` loads no sandbox code).
SETUP_SANDBOX = ("auto", "none-i-accept-the-risk")


@click.command("test-runbook")
@click.argument("name", required=False)
@click.option("--dir", "spec_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of NAME.test.yaml specs (default: ./tests/runbooks, then agentbook's own).")
@click.option("--list", "list_only", is_flag=True, help="List the runbook tests that can be run.")
@click.option("--all", "run_all", is_flag=True, help="Run every runbook test found (each in its own fixture).")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="Empty folder for the fixture repository (default: a new temporary folder, kept).")
@click.option("--agent", metavar="AGENT", help="Run on this agent (claude-code, ...) with the spec's `agents:` script.")
@click.option("--setup-sandbox", type=click.Choice(SETUP_SANDBOX), default="auto", show_default=True,
              help="Where the spec's fixture setup commands run: the gates' jail, or (for a spec you trust) "
                   "unconfined on this machine, still without API keys or tokens.")
@json_option
def command(name: str | None, spec_dir: Path | None, list_only: bool, run_all: bool, workdir: Path | None,
            agent: str | None, setup_sandbox: str, as_json: bool) -> int:
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
    if bool(name) == run_all:
        raise UsageError("name one runbook test or pass --all (see `agentbook test-runbook --list`)")
    names = sorted(rt.list_specs(dirs)) if run_all else [str(name)]
    if run_all and workdir is not None:
        raise UsageError("--workdir holds one fixture: use it with a single NAME")
    results = [rt.run_test(rt.load_spec(rt.find_spec(n, dirs)), workdir, agent, setup_sandbox=setup_sandbox).to_json()
               for n in names]
    if as_json:
        emit_json(results if run_all else results[0])
    else:
        click.echo("\n".join(_text(r) for r in results))
        if run_all:
            click.echo(f"{sum(bool(r['ok']) for r in results)} of {len(results)} runbook tests ok")
    return EXIT_OK if all(r["ok"] for r in results) else EXIT_FINDINGS


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
