"""What a finished session (or one step of it) hands back: outcome, spend, where the records are."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.models.base import Usage
from agentbook.outcome import Outcome


@dataclass
class SessionResult:
    session_id: str
    outcome: Outcome
    model: str
    turns: int
    usage: Usage
    cost_usd: float
    cost_estimated: bool
    sandbox: str  # bwrap | allowlist | none (no bash tool)
    final_text: str = ""
    files_changed: list[str] = field(default_factory=list)
    tool_calls: int = 0
    retries: int = 0
    wall_seconds: float = 0.0
    transcript_path: Path | None = None
    trace_path: Path | None = None
    budgets: dict[str, Any] = field(default_factory=dict)  # the limits it ran under (defaults included)

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "outcome": self.outcome.to_json(), "model": self.model,
                "turns": self.turns, "usage": self.usage.to_json(), "cost_usd": round(self.cost_usd, 6),
                "cost_estimated": self.cost_estimated, "sandbox": self.sandbox, "final_text": self.final_text,
                "files_changed": self.files_changed, "tool_calls": self.tool_calls, "retries": self.retries,
                "wall_seconds": round(self.wall_seconds, 3),
                "transcript_path": str(self.transcript_path) if self.transcript_path else None,
                "trace_path": str(self.trace_path) if self.trace_path else None, "budgets": self.budgets}
