"""The one error type users see, and the exit codes every command shares.

Library code raises `FatalError` (or a subclass) for anything a user can cause: a missing file, bad
YAML, an unknown case id. The CLI's single top-level handler prints its message (no traceback) and
exits with its code. Anything else escaping is a bug: the handler says so and exits `EXIT_INTERNAL`.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # the command worked and found problems (validate findings, failing evals)
EXIT_USAGE = 2  # bad flags or arguments (click's own code for usage errors)
EXIT_ERROR = 3  # bad input a user can fix: missing file, invalid YAML, unknown id, dirty checkout
EXIT_INTERNAL = 70  # a bug in agentbook (EX_SOFTWARE); the message asks for a report
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGINT


class FatalError(Exception):
    """An error a user can cause and fix. `str(err)` is the whole message shown to them.

    `location` is a "file:line[:col]" breadcrumb when there is one; `hint` says how to fix it.
    """

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, location: str | None = None, hint: str | None = None,
                 exit_code: int | None = None) -> None:
        self.message = message
        self.location = location
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_json(self) -> dict[str, object]:
        return {"error": self.message, "location": self.location, "hint": self.hint,
                "exit_code": self.exit_code, "type": type(self).__name__}


def invalid_yaml(err: Exception, source: str, *, what: str = "", line_offset: int = 0) -> FatalError:
    """The error for YAML that does not parse: `source:line:col: invalid YAML[ in what]: problem`, with
    the line and column PyYAML's error carries (`line_offset`: lines before the parsed text)."""
    mark = getattr(err, "problem_mark", None)
    location = f"{source}:{mark.line + 1 + line_offset}:{mark.column + 1}" if mark is not None else source
    problem = getattr(err, "problem", None) or str(err).strip().splitlines()[0]
    return FatalError(f"invalid YAML{' in ' + what if what else ''}: {problem}", location=location)


class UsageError(FatalError):
    """Arguments that do not make sense together; exit 2 like click's own usage errors."""

    exit_code = EXIT_USAGE
