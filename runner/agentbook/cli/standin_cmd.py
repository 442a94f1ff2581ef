"""`agentbook standin serve|check`: the scripted Messages API server, from the shell."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click

from agentbook.cli.output import emit_json, json_option
from agentbook.errors import FatalError
from agentbook.standin import StandinServer, load_script
from agentbook.standin.script import Script

script_option = click.option("--script", "script_path", required=True, type=click.Path(path_type=Path),
                             help="The *.script.yaml file to answer from.")


@click.group(name="standin")
def command() -> None:
    """An Anthropic-compatible scripted model server; `scripted:FILE` model specs run the same scripts.

    \b
    A script (FILE.script.yaml) in short:
      version: 1
      model: scripted                      # the model name replies carry
      sessions:                            # the first whose match holds answers
        - name: hashtags
          match: {first_user: "bananas"}   # text in the first user message (the
                                           # rendered prompt); a pattern instead:
                                           # {first_user: {regex: "(?i)banana"}};
                                           # also system:, model:
          turns:                           # turn N answers a request holding N-1
            - text: "Bananas! #fruit"      # assistant messages; tool_use: too
      default: {turns: [{text: "..."}]}    # when no session matches
    A grader for llm-rubric answers {"pass": true, "score": 1, "reason": "..."}.
    It is asked a first user message that starts "You are grading the output of
    an AI system against a rubric." (then <rubric>...</rubric> <output>...</output>),
    so one script can be model and grader: put a session matching
    {first_user: "You are grading the output"} first. A chat prompt's system
    message is matched by system:, its first user message by first_user:.
    Check one with `agentbook standin check --script FILE`. Everything else
    (placeholders, on_result, variants, faults, usage): runner/agentbook/standin/README.md
    in agentbook's source.
    """


def _summary(script: Script) -> dict[str, object]:
    return {"script": script.path, "model": script.model,
            "sessions": [{"name": s.name, "turns": len(s.turns)} for s in script.sessions],
            "default": len(script.default.turns) if script.default else None}


def _log_line(entry: dict[str, object]) -> None:
    where = f" session={entry['session']} turn={entry['turn']} attempt={entry['attempt']}" if "session" in entry else ""
    fault = f" fault={entry['fault']}" if entry.get("fault") else ""
    click.echo(f"{entry['method']} {entry['path']} {entry['status']}{where}{fault}", err=True)


@command.command(name="check")
@script_option
@json_option
def check_cmd(script_path: Path, as_json: bool) -> None:
    """Validate a script file; exit 3 with file:line:col when it is wrong."""
    script = load_script(script_path)
    if as_json:
        emit_json({"ok": True, **_summary(script)})
        return
    sessions = ", ".join(f"{s.name} ({len(s.turns)} turns)" for s in script.sessions)
    default = len(script.default.turns) if script.default else "none"
    click.echo(f"ok: {script_path}: sessions: {sessions or 'none'}; default: {default}")


@command.command(name="serve")
@script_option
@click.option("--port", type=int, default=0, show_default=True, help="Port (0: pick a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; keep loopback.")
@click.option("--log", "log_requests", is_flag=True, help="One line per request on stderr.")
@json_option
def serve_cmd(script_path: Path, port: int, host: str, log_requests: bool, as_json: bool) -> None:
    """Serve the Messages API from SCRIPT until interrupted. Prints the base URL first."""
    server = StandinServer(load_script(script_path), host, port)
    if log_requests:
        server.on_request = _log_line
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: serving on {host}: any host that can reach it may use it (no real keys "
                   "are checked)", err=True)

    async def main() -> None:
        try:
            await server.start()
        except OSError as err:  # port taken, address not ours: the user's to fix
            reason = os.strerror(err.errno).lower() if err.errno else str(err)
            raise FatalError(f"cannot listen on {host}:{port}: {reason}",
                             hint="pick another --port, or --port 0 for a free one") from None
        if as_json:
            emit_json({"url": server.base_url, **_summary(server.script)})
        else:
            click.echo(f"stand-in listening on {server.base_url} (script {script_path}); Ctrl-C stops it")
        sys.stdout.flush()  # whoever started us waits for this line before connecting
        await server.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        click.echo("stand-in stopped", err=True)
