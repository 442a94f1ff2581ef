"""Run budgets: the runbook's `limits` under the user's ceiling become session `Budgets`.

A runbook may come from the repository the run works on, which the ticket's author may have written:
its `limits` may lower a budget, never raise one. The ceiling of each is the user's flag when given
(`--max-turns`, `--max-usd`, `--timeout`, `--gate-retries`, `--limit`), else the runner's default for
a repository's runbook; agentbook's own runbooks (the user chose to run them) may go past a default,
never past a flag. A runbook asking more than its ceiling gets the ceiling, and a note says so.
"""

from __future__ import annotations

import math
from typing import Any

from agentbook.duration import parse_duration
from agentbook.errors import FatalError
from agentbook.session.config import Budgets

DEFAULT_GATE_RETRIES = 2
DEFAULTS = Budgets()
FLAGS = {"max_turns": "--max-turns", "max_tokens": "--max-tokens", "max_usd": "--max-usd", "timeout": "--timeout",
         "gate_retries": "--gate-retries"}


def budgets_for(limits: dict[str, Any] | None, *, max_usd: float | None, max_turns: int | None,
                timeout: str | None, max_tokens: int | None = None, trusted: bool = True,
                notes: list[str] | None = None) -> Budgets:
    """The run's budgets: each the runbook's value capped at the flag (or, for an untrusted runbook,
    the default); a note for each cap is added to `notes`."""
    limits = limits if isinstance(limits, dict) else {}
    notes = [] if notes is None else notes
    asked_wall = limits.get("timeout")
    wall = parse_duration(asked_wall, where="timeout") if asked_wall is not None else None
    flag_wall = parse_duration(timeout, where="--timeout") if timeout is not None else None
    return Budgets(
        max_turns=capped("max_turns", _int(limits.get("max_turns"), "max_turns", None), max_turns,
                         DEFAULTS.max_turns, trusted, notes),
        max_tokens=capped("max_tokens", _int(limits.get("max_tokens"), "max_tokens", None), max_tokens,
                          DEFAULTS.max_tokens, trusted, notes),
        max_usd=capped("max_usd", _float(limits.get("max_usd")), max_usd, DEFAULTS.max_usd, trusted, notes),
        wall_seconds=capped("timeout", wall, flag_wall, DEFAULTS.wall_seconds, trusted, notes),
    )


def capped(name: str, asked: Any, flag: Any, default: Any, trusted: bool, notes: list[str],
           flag_name: str | None = None) -> Any:
    """`asked` (the runbook's) at most the ceiling: `flag` when given, else `default` for an untrusted
    runbook (None: no ceiling); without `asked`, the flag or the default."""
    if asked is None:
        return flag if flag is not None else default
    ceiling = flag if flag is not None else (None if trusted else default)
    if ceiling is None or asked <= ceiling:
        return asked
    by = f"the {flag_name or FLAGS.get(name, name)} given" if flag is not None else \
        f"the runner's default for a repository's runbook (raise it with {flag_name or FLAGS.get(name, name)})"
    notes.append(f"runbook limits.{name} {_shown(asked)} is above {by}: capped at {_shown(ceiling)}")
    return ceiling


def gate_retries_for(limits: dict[str, Any] | None, flag: int | None, *, trusted: bool = True,
                     notes: list[str] | None = None) -> int:
    asked = _int((limits or {}).get("gate_retries") if isinstance(limits, dict) else None, "gate_retries", None)
    value = capped("gate_retries", asked, flag, DEFAULT_GATE_RETRIES, trusted, [] if notes is None else notes)
    return int(value or 0)


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _int(value: Any, name: str, default: int | None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FatalError(f"runbook limits.{name} must be a whole number, got {value!r}")
    return value


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise FatalError(f"runbook limits.max_usd must be a number above 0, got {value!r}")
    return float(value)
