"""`agentbook session`: run one bare agent session from the shell and print its typed outcome."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click

from agentbook.cli.output import bounded, emit_json, json_option
from agentbook.duration import parse_duration
from agentbook.errors import UsageError
from agentbook.session import DEFAULT_TOOLS, Budgets, SessionConfig, run_session
from agentbook.session.config import DEFAULT_MAX_USD
from agentbook.session.limits import parse_flags as parse_limit_flags
from agentbook.session.limits import resolve as resolve_limits
from agentbook.session.result import SessionResult


def default_out_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "agentbook" / "sessions"


@click.command("session")
@click.option("--model", "model", required=True, help="Model spec: anthropic:<m>, compat:<url>#<m>, scripted:<f>.")
@click.option("--root", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The folder the agent works in; every path resolves inside it.")
@click.option("--system", default="", help="System prompt text.")
@click.option("--system-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Read the system prompt from a file.")
@click.option("--tools", default=",".join(DEFAULT_TOOLS), show_default=True, help="Comma-separated tool names.")
@click.option("--max-turns", type=int, default=50, show_default=True, help="Model requests at most.")
@click.option("--max-tokens", type=int, help="Tokens (input incl. cached + output) at most.")
@click.option("--max-usd", type=float, default=DEFAULT_MAX_USD, show_default=True, help="Spend at most this many dollars.")
@click.option("--timeout", "timeout", default="30m", show_default=True,
              help="Wall clock limit: seconds, or 90s / 45m / 1h.")
@click.option("--max-tool-errors", type=int, default=8, show_default=True, help="Consecutive failed tool calls.")
@click.option("--protected", multiple=True, help="Glob the agent may read but not change (repeatable).")
@click.option("--bash-allow", multiple=True, help="fnmatch pattern of an allowed command (repeatable).")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "allowlist", "none-i-accept-the-risk"]), default="auto",
              show_default=True, help="Where bash runs: the jail (auto, bwrap; allowlist adds --bash-allow), or "
                                      "unconfined, only if you accept the risk.")
@click.option("--limit", "limit_flags", multiple=True, metavar="NAME=VALUE",
              help="A sandbox limit, e.g. memory=2G, processes=256, tool_seconds=120 (repeatable).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where transcript and trace go (default: $XDG_STATE_HOME/agentbook/sessions/<id>).")
@click.option("--secret", "secrets", multiple=True, metavar="NAME",
              help="Also treat the value of environment variable NAME as a secret (repeatable).")
@json_option
@click.argument("task")
def command(model: str, root: Path, system: str, system_file: Path | None, tools: str, max_turns: int,
            max_tokens: int | None, max_usd: float | None, timeout: str, max_tool_errors: int,
            protected: tuple[str, ...], bash_allow: tuple[str, ...], sandbox: str, limit_flags: tuple[str, ...],
            out_dir: Path | None,
            secrets: tuple[str, ...], as_json: bool, task: str) -> int:
    """Run TASK (or `-` for stdin) as one agent session in ROOT; exit code is the outcome's."""
    if task == "-":
        task = sys.stdin.read()
    if not task.strip():
        raise UsageError("the task is empty")
    if system_file is not None:
        system = system_file.read_text(encoding="utf-8")
    budgets = Budgets(max_turns=max_turns, max_tokens=max_tokens, max_usd=max_usd,
                      wall_seconds=parse_duration(timeout, where="--timeout", error=UsageError), max_tool_errors=max_tool_errors)
    config = SessionConfig(model=model, root=root, system=system, budgets=budgets, protected=list(protected),
                           tools=[t.strip() for t in tools.split(",") if t.strip()],
                           bash_allow=list(bash_allow) or None, sandbox=sandbox, secrets=_secret_values(secrets),
                           limits=resolve_limits(None, parse_limit_flags(limit_flags)))
    records = (out_dir or default_out_dir()) / config.session_id
    config.transcript_path, config.trace_path = records / "transcript.jsonl", records / "trace.otlp.json"
    config.protected += _inside(records, root)
    result = asyncio.run(run_session(config, task))
    if as_json:
        data = result.to_json()
        data["final_text"] = bounded(result.final_text, 4000, f"the whole reply is in {result.transcript_path}")
        emit_json(data)
    else:
        click.echo(_human(result))
    return result.exit_code


def _secret_values(names: tuple[str, ...]) -> list[str]:
    """The values of `--secret NAME`s (a value never goes on a command line, where `ps` shows it);
    held for the rest of the process, so everything it prints is redacted too."""
    from agentbook.secretscan import MIN_SECRET_LEN, held_secrets, hold

    for name in names:
        if len(os.environ.get(name) or "") < MIN_SECRET_LEN:
            raise UsageError(f"--secret {name}: no such environment variable (or shorter than {MIN_SECRET_LEN} "
                             "characters); pass the variable's name, not its value")
    hold(names)
    return [s.value for s in held_secrets(names)]


def _inside(records: Path, root: Path) -> list[str]:
    """The records folder as a protected glob when it lies inside the root: the agent may not edit them."""
    try:
        rel = records.resolve().relative_to(root.resolve())
    except ValueError:
        return []
    return [rel.as_posix()]


def _human(result: SessionResult) -> str:
    outcome = result.outcome
    kind = outcome.kind.value + (f"({outcome.reason})" if outcome.reason else "")
    cost = f"${result.cost_usd:.4f}" + (" (estimated)" if result.cost_estimated else "")
    lines = [f"{kind}: {outcome.message}",
             (f"turns {result.turns}, tool calls {result.tool_calls}, {cost}, {result.wall_seconds:.1f}s, "
              f"sandbox {result.sandbox}")]
    if result.files_changed:
        lines.append("changed: " + ", ".join(result.files_changed))
    if outcome.evidence.get("denied"):
        lines.append(f"denied: {outcome.evidence['denied']}")
    if result.final_text:
        lines.append("")
        lines.append(bounded(result.final_text, 2000, "see the transcript"))
    lines += ["", f"transcript: {result.transcript_path}", f"trace: {result.trace_path}"]
    return "\n".join(lines)
