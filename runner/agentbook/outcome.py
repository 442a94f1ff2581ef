"""The typed outcome of every session and run (DESIGN.md, Contracts), each with its own exit code.

Nothing that did not finish reports success: only `completed` exits 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class OutcomeKind(str, Enum):
    COMPLETED = "completed"
    NO_CHANGES = "no_changes"
    BLOCKED = "blocked"  # a gate or a permission stopped the work; evidence says which
    BUDGET_EXHAUSTED = "budget_exhausted"  # reason: turns | tokens | usd | wall | tool_errors
    API_ERROR = "api_error"  # evidence carries the HTTP status
    CRASHED = "crashed"


EXIT_CODES: dict[OutcomeKind, int] = {
    OutcomeKind.COMPLETED: 0,
    OutcomeKind.NO_CHANGES: 10,
    OutcomeKind.BLOCKED: 11,
    OutcomeKind.BUDGET_EXHAUSTED: 12,
    OutcomeKind.API_ERROR: 13,
    OutcomeKind.CRASHED: 14,
}


@dataclass
class Outcome:
    kind: OutcomeKind
    reason: str = ""  # e.g. "wall" for budget_exhausted, "gate" / "permission" for blocked
    message: str = ""  # one human sentence
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind]

    @property
    def ok(self) -> bool:
        return self.kind is OutcomeKind.COMPLETED

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "reason": self.reason, "message": self.message,
                "evidence": self.evidence, "exit_code": self.exit_code}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        return cls(OutcomeKind(data["kind"]), data.get("reason", ""), data.get("message", ""),
                   dict(data.get("evidence") or {}))
