"""The light records of a suite: where each case lives (`CaseSpan`, `SuiteIndex`, as the index cache
stores them) and the summary row `eval list` prints (`CaseInfo`).

No `typing` or `dataclasses` at run time (`agentbook.records`): `agentbook eval list` answers from the cache with
this module, `indexstore.py` and `listing.py`, without loading a YAML parser or click.
"""

from __future__ import annotations

from agentbook.records import Record

TYPE_CHECKING = False  # typing's own constant would import `typing`, which `eval list` does not need
if TYPE_CHECKING:
    from typing import Any

INDEX_VERSION = 6  # 6: the suite's `defaultTest` assert types (`defaults`)
REF_PREFIX = "$ref:"  # an assertion given by `$ref`: resolved against the suite by the store


class CaseSpan(Record):
    __slots__ = ("asserts", "description", "end", "explicit_id", "id", "lead", "line", "start")

    def __init__(self, id: str, explicit_id: bool, lead: int, start: int, end: int, line: int,
                 description: str = "", asserts: list[str] | None = None) -> None:
        self.id = id
        self.explicit_id = explicit_id
        self.lead = lead  # byte offset where this case's leading comment lines start (removed with it)
        self.start = start  # byte offset of the start of the line holding the item's dash
        self.end = end  # byte offset just past the case's last line
        self.line = line  # 1-based line of the dash
        self.description = description
        self.asserts = [] if asserts is None else asserts

    @property
    def size(self) -> int:
        return self.end - self.start


class SuiteIndex(Record):
    __slots__ = ("cases", "dash_col", "defaults", "digest", "fast", "globs", "items_end", "items_start", "mtime_ns",
                 "reason", "size", "tests", "version")

    def __init__(self, size: int, mtime_ns: int, digest: str, tests: str, globs: list[str], fast: bool,
                 reason: str, dash_col: int, items_start: int, items_end: int, cases: list[CaseSpan],
                 version: int = INDEX_VERSION, defaults: dict[str, Any] | None = None) -> None:
        self.size = size
        self.mtime_ns = mtime_ns
        self.digest = digest
        self.tests = tests  # inline | files | none
        self.globs = globs
        self.fast = fast
        self.reason = reason
        self.dash_col = dash_col
        self.items_start = items_start
        self.items_end = items_end
        self.cases = cases
        self.version = version
        # the suite's `defaultTest`: None (none), {"asserts": [types]} written inline, or {"ref": "file://..."}
        self.defaults = defaults

    def to_json(self) -> dict[str, Any]:
        """Cases as rows, not objects: the cache of a 5,000-case suite stays small and fast to write."""
        head = {k: getattr(self, k) for k in self.__slots__ if k != "cases"}
        rows = [[c.id, c.explicit_id, c.lead, c.start, c.end, c.line, c.description, c.asserts]
                for c in self.cases]
        return {**head, "cases": rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SuiteIndex:
        cases = [CaseSpan(*row) for row in data.pop("cases")]
        return cls(cases=cases, **data)

    def find(self, case_id: str) -> list[int]:
        return [i for i, c in enumerate(self.cases) if c.id == case_id]


class CaseInfo(Record):
    __slots__ = ("asserts", "description", "explicit_id", "id", "inherited", "location", "size")

    def __init__(self, id: str, description: str, asserts: list[str], size: int, location: str,
                 explicit_id: bool = True, inherited: list[str] | None = None) -> None:
        self.id = id
        self.description = description
        self.asserts = asserts  # the case's own, as written
        self.size = size
        self.location = location  # file:line
        self.explicit_id = explicit_id
        self.inherited = [] if inherited is None else inherited  # the suite's defaultTest.assert types

    @property
    def all_asserts(self) -> list[str]:
        """What a run checks, in promptfoo's order: defaultTest's assertions, then the case's own."""
        return self.inherited + self.asserts

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "asserts": self.all_asserts,
                "inherited": self.inherited, "size": self.size, "location": self.location,
                "explicit_id": self.explicit_id}
