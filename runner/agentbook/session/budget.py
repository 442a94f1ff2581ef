"""Budgets as a tracker: which limit is spent (checked before every request) and the wrap-up reserve."""

from __future__ import annotations

import time
from dataclasses import dataclass

from agentbook.session.config import Budgets


@dataclass
class Spend:
    turns: int = 0
    tokens: int = 0
    usd: float = 0.0
    tool_errors: int = 0  # consecutive


class BudgetTracker:
    def __init__(self, budgets: Budgets) -> None:
        self.budgets = budgets
        self.started: float | None = None
        self.warned = False

    def start(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started

    def wall_remaining(self) -> float | None:
        if self.budgets.wall_seconds is None:
            return None
        return self.budgets.wall_seconds - self.elapsed()

    def exhausted(self, spend: Spend) -> tuple[str, str] | None:
        """(reason, sentence) for the first spent limit, or None."""
        b = self.budgets
        if b.max_turns is not None and spend.turns >= b.max_turns:
            return "turns", f"used all {b.max_turns} turns"
        if b.max_tokens is not None and spend.tokens >= b.max_tokens:
            return "tokens", f"used {spend.tokens} of {b.max_tokens} tokens"
        if b.max_usd is not None and spend.usd >= b.max_usd:
            return "usd", f"spent ${spend.usd:.4f} of ${b.max_usd:.2f}"
        remaining = self.wall_remaining()
        if remaining is not None and remaining <= 0:
            return "wall", f"ran {self.elapsed():.1f}s of {b.wall_seconds:g}s wall clock"
        if b.max_tool_errors is not None and spend.tool_errors >= b.max_tool_errors:
            return "tool_errors", f"{spend.tool_errors} tool calls failed in a row"
        return None

    def wrap_up_note(self, spend: Spend) -> str | None:
        """Once, when any limit is `reserve` used: the note that tells the agent to save and finish."""
        if self.warned:
            return None
        b = self.budgets
        used = [(spend.turns / b.max_turns if b.max_turns else 0.0, f"{spend.turns} of {b.max_turns} turns"),
                (spend.tokens / b.max_tokens if b.max_tokens else 0.0, f"{spend.tokens} of {b.max_tokens} tokens"),
                (spend.usd / b.max_usd if b.max_usd else 0.0, f"${spend.usd:.2f} of ${b.max_usd}"),
                (self.elapsed() / b.wall_seconds if b.wall_seconds else 0.0,
                 f"{self.elapsed():.0f}s of {b.wall_seconds}s")]
        fraction, what = max(used, key=lambda u: u[0])
        if fraction < b.reserve:
            return None
        self.warned = True
        return (f"[agentbook] Budget nearly spent ({what}). Wrap up now: save your work to files, do not start "
                "anything new, and end with a short summary of what is done and what is left.")
