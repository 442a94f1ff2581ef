"""A finding: one problem in one file, at one place, with the rule it breaks and how to fix it.

Every check in the catalog returns findings instead of raising, so one run reports everything at once
and an unreadable file is a finding like any other. The eval-suite validator returns the same type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    rule: str
    message: str
    hint: str = ""
    severity: Severity = "error"

    def render(self) -> str:
        """`path:line:col: error[rule]: message (hint)`, the shape compilers and editors understand."""
        text = f"{self.path}:{self.line}:{self.col}: {self.severity}[{self.rule}]: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.path, f.line, f.col, f.rule, f.message))
