"""The light records of a suite: where each case lives (`CaseSpan`, `SuiteIndex`, as the index cache
stores them) and the summary row `eval list` prints (`CaseInfo`).

Standard library only and no `typing` at run time: `agentbook eval list` answers from the cache with
this module, `indexstore.py` and `listing.py`, without loading a YAML parser or click.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TYPE_CHECKING = False  # typing's own constant would import `typing`, which `eval list` does not need
if TYPE_CHECKING:
    from typing import Any

INDEX_VERSION = 5
REF_PREFIX = "$ref:"  # an assertion given by `$ref`: resolved against the suite by the store


@dataclass
class CaseSpan:
    id: str
    explicit_id: bool
    lead: int  # byte offset where this case's leading comment lines start (removed with it)
    start: int  # byte offset of the start of the line holding the item's dash
    end: int  # byte offset just past the case's last line
    line: int  # 1-based line of the dash
    description: str = ""
    asserts: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass
class SuiteIndex:
    size: int
    mtime_ns: int
    digest: str
    tests: str  # inline | files | none
    globs: list[str]
    fast: bool
    reason: str
    dash_col: int
    items_start: int
    items_end: int
    cases: list[CaseSpan]
    version: int = INDEX_VERSION

    def to_json(self) -> dict[str, Any]:
        """Cases as rows, not objects: the cache of a 5,000-case suite stays small and fast to write."""
        head = {k: v for k, v in self.__dict__.items() if k != "cases"}
        rows = [[c.id, c.explicit_id, c.lead, c.start, c.end, c.line, c.description, c.asserts]
                for c in self.cases]
        return {**head, "cases": rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SuiteIndex:
        cases = [CaseSpan(*row) for row in data.pop("cases")]
        return cls(cases=cases, **data)

    def find(self, case_id: str) -> list[int]:
        return [i for i, c in enumerate(self.cases) if c.id == case_id]


@dataclass
class CaseInfo:
    id: str
    description: str
    asserts: list[str]
    size: int
    location: str  # file:line
    explicit_id: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "asserts": self.asserts,
                "size": self.size, "location": self.location, "explicit_id": self.explicit_id}
