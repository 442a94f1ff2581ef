"""The `agentbook` console script. Two commands are answered here, before the CLI (click, and whatever
a command imports) is loaded, because bots, skills and gates run them often:

- `agentbook --version`: the standard library and one pair of git queries in a checkout;
- `agentbook eval list ...` in its plain forms (`SUITE`, `--filter EXPR`, `--limit N`, `--json`, each
  at most once, `--opt=VALUE` too): the rows come from the suite's index cache (`evals/listing.py`)
  and are printed by the function the click command calls, errors by the same `console.report_fatal`
  as `agentbook.cli.main`. Anything else (help, a typo, `--`, a value that looks like an option) is
  left to click, which parses and reports it exactly as before. Inside a session the suite is checked
  against the confinement first, as the click path's wrapper (`cli/confined.py`) does.

For `session` and `run`, the jail's probe is started here in a thread (`sandbox.probe_early`).

Nothing here imports more than that at the top: `python -m agentbook` and the console script pay only
for what the command uses.
"""

from __future__ import annotations

import sys

VERSION_FLAGS = (["--version"], ["-V"])
UNCONFINED = "none-i-accept-the-risk"  # session/sandbox.py's name for running bash without the jail
EVAL_LIST_OPTIONS = ("--filter", "--limit")


def main() -> None:
    args = sys.argv[1:]
    if args in VERSION_FLAGS:
        from agentbook.version import version_info

        print(version_info().line())
        sys.exit(0)
    if args[:2] == ["eval", "list"]:
        code = eval_list(args[2:])
        if code is not None:
            sys.exit(code)
    if args[:1] in (["session"], ["run"]) and not {"-h", "--help", UNCONFINED} & set(args):
        # these ask whether the jail works before their first bash call: start bubblewrap's probe now,
        # so its wall time overlaps loading click and the command (session/sandbox.py, probe_early)
        from agentbook.session.sandbox import probe_early

        probe_early()
    from agentbook.cli import console_main

    console_main()


def eval_list(args: list[str]) -> int | None:
    """Run `agentbook eval list ARGS` and return its exit code, or None to leave it to click."""
    parsed = parse_eval_list(args)
    if parsed is None:
        return None
    from pathlib import Path

    from agentbook.confine import from_env
    from agentbook.console import echo, redacted_output, report_fatal
    from agentbook.errors import EXIT_INTERRUPTED, EXIT_OK, FatalError
    from agentbook.evals.listing import list_output

    suite, expr, limit, as_json = parsed
    with redacted_output():
        try:
            confinement = from_env()
            if confinement is not None:
                confinement.check_path(Path(suite), "SUITE")
            text = list_output(Path(suite), expr, limit, as_json)
        except FatalError as err:
            return report_fatal(err, as_json)
        except KeyboardInterrupt:
            echo("agentbook: interrupted", err=True)
            return EXIT_INTERRUPTED
        except Exception:  # noqa: BLE001 -- a bug: click's path runs the same code and reports it
            return None
        try:
            echo(text)
        except BrokenPipeError:
            return EXIT_OK
    return EXIT_OK


def parse_eval_list(args: list[str]) -> tuple[str, str | None, int, bool] | None:
    """(SUITE, --filter, --limit, --json) of `eval list`'s plain forms; None for anything else."""
    from agentbook.evals.listing import LIST_LIMIT

    suite: str | None = None
    values: dict[str, str] = {}
    as_json = False
    rest = iter(args)
    for arg in rest:
        name, eq, value = arg.partition("=")
        if arg == "--json" and not as_json:
            as_json = True
        elif name in EVAL_LIST_OPTIONS and name not in values:
            if not eq:
                value = next(rest, "-")
                if value.startswith("-"):
                    return None
            values[name] = value
        elif arg.startswith("-") or not arg or suite is not None:
            return None
        else:
            suite = arg
    if suite is None:
        return None
    try:
        limit = int(values.get("--limit", LIST_LIMIT))  # int(), as click's INT type converts
    except ValueError:
        return None
    return suite, values.get("--filter"), limit, as_json
