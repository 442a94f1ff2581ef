"""Run budgets: the runbook's `limits` and the CLI flags (which win) become session `Budgets`."""

from __future__ import annotations

from typing import Any

from agentbook.duration import parse_duration
from agentbook.errors import FatalError
from agentbook.session.config import Budgets

DEFAULT_GATE_RETRIES = 2
def budgets_for(limits: dict[str, Any] | None, *, max_usd: float | None, max_turns: int | None,
                timeout: str | None, max_tokens: int | None = None) -> Budgets:
    limits = limits if isinstance(limits, dict) else {}
    wall = timeout if timeout is not None else limits.get("timeout")
    return Budgets(
        max_turns=max_turns if max_turns is not None else _int(limits.get("max_turns"), "max_turns", 50),
        max_tokens=max_tokens if max_tokens is not None else _int(limits.get("max_tokens"), "max_tokens", None),
        max_usd=max_usd if max_usd is not None else _float(limits.get("max_usd")),
        wall_seconds=parse_duration(wall, where="timeout") if wall is not None else None,
    )


def gate_retries_for(limits: dict[str, Any] | None, flag: int | None) -> int:
    if flag is not None:
        return flag
    value = (limits or {}).get("gate_retries", DEFAULT_GATE_RETRIES) if isinstance(limits, dict) else \
        DEFAULT_GATE_RETRIES
    return _int(value, "gate_retries", DEFAULT_GATE_RETRIES) or 0


def _int(value: Any, name: str, default: int | None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FatalError(f"runbook limits.{name} must be a whole number, got {value!r}")
    return value


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FatalError(f"runbook limits.max_usd must be a number, got {value!r}")
    return float(value)
