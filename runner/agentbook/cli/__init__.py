"""The `agentbook` command: a thin layer that parses arguments, calls the library and prints.

Commands are registered by dotted path in `COMMANDS` and imported only when used, so `agentbook
validate` does not pay for importing the model SDK. Each command module exposes a click object named
`command` (a command or a group). Built-ins are registered exactly as a plugin would be.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from agentbook.cli import confined
from agentbook.confine import from_env
from agentbook.console import json_error, report_fatal
from agentbook.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, FatalError

# name -> "module:attribute"; one line per command group. Keep sorted.
COMMANDS: dict[str, str] = {
    "backtest": "agentbook.cli.backtest_cmd:command",
    "baseline": "agentbook.cli.baseline_cmd:command",
    "demo": "agentbook.cli.demo:command",
    "eval": "agentbook.cli.eval_cmd:command",
    "models": "agentbook.cli.models_cmd:command",
    "run": "agentbook.cli.run_cmd:command",
    "runbooks": "agentbook.cli.catalog_cmds:runbooks_group",
    "runs": "agentbook.cli.runs_cmd:command",
    "session": "agentbook.cli.session_cmd:command",
    "skills": "agentbook.cli.catalog_cmds:skills_group",
    "standin": "agentbook.cli.standin_cmd:command",
    "test-runbook": "agentbook.cli.test_runbook_cmd:command",
    "trace": "agentbook.cli.trace_cmd:command",
    "validate": "agentbook.cli.validate:command",
    "version": "agentbook.cli.version_cmd:command",
    "watch": "agentbook.cli.watch_cmd:command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        confinement = from_env()
        if confinement is not None and cmd_name in confined.REFUSED:
            raise confined.refuse(cmd_name)
        module_name, _, attr = target.partition(":")
        module = importlib.import_module(module_name)
        cmd = getattr(module, attr)
        assert isinstance(cmd, click.Command)
        return cmd if confinement is None else confined.confine_command(cmd)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """The same line the console script prints before loading the CLI (agentbook.launcher)."""
    if not value or ctx.resilient_parsing:
        return
    from agentbook.version import version_info

    click.echo(version_info().line())
    ctx.exit(0)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", "-V", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and the commit it was built from, and exit.")
def cli() -> None:
    """agentbook: skills, runbooks and a headless runner for debugging AI systems.

    Every command takes --json; exit codes: 0 ok, 1 findings/failures, 2 usage, 3 bad input,
    10-14 typed run outcomes (10 no changes, 11 blocked, 12 budget exhausted, 13 API error,
    14 crashed), 70 internal error. With --json an error is a JSON object on stdout too.
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; everything it prints is redacted (`redacted_output`)."""
    from agentbook.console import redacted_output

    with redacted_output():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    """The single top-level error handler lives here."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    try:
        result = cli.main(args=args, prog_name="agentbook", standalone_mode=False)
    except FatalError as err:
        return report_fatal(err, as_json)
    except click.exceptions.Exit as ex:
        return int(ex.exit_code)
    except click.ClickException as ex:
        ex.show()
        code = ex.exit_code if ex.exit_code else EXIT_USAGE
        if as_json:
            json_error({"error": ex.format_message(), "location": None, "hint": None, "exit_code": code,
                         "type": "UsageError"})
        return code
    except click.Abort:
        click.echo("agentbook: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("agentbook: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception:  # noqa: BLE001 -- a bug: say so plainly, keep the traceback for the report
        click.echo("agentbook: internal error (this is a bug; please report it with the traceback below)",
                   err=True)
        import traceback  # here: every command would otherwise pay for importing it

        traceback.print_exc()
        if as_json:
            json_error({"error": "internal error (a bug; the traceback is on stderr)", "location": None,
                         "hint": "please report it", "exit_code": EXIT_INTERNAL, "type": "InternalError"})
        return EXIT_INTERNAL
    return result if isinstance(result, int) else EXIT_OK


def console_main() -> None:
    sys.exit(main())
