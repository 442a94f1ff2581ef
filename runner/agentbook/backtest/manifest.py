"""The backtest manifest: one JSON object per line describing one investigation the AI system ran.

Fields: `id`, `account`, `trace` (path to the trace file, relative to the manifest), `answer` (the
system's answer), `truth` (from the postmortem), `score` (0..1) and/or `verdict` (correct | wrong |
partial), `metadata` (free-form map). Everything is checked up front, with `file:line` locations, so a
bad manifest is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentbook.backtest.jsonlines import LineProblems, json_lines
from agentbook.errors import FatalError

VERDICTS = ("correct", "wrong", "partial")
# ids and accounts become folder names: keep them to a portable, traversal-free alphabet
SAFE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")  # \Z: "$" would take a trailing newline


@dataclass
class ManifestEntry:
    id: str
    account: str
    trace: Path  # resolved path of the trace file
    answer: str
    truth: str
    verdict: str
    score: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    line: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def source_hash(self) -> str:
        """A hash of the manifest fields and the trace bytes: an entry re-imports only when it changed."""
        h = hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode())
        h.update(self.trace.read_bytes())
        return h.hexdigest()[:16]

    def to_json(self, trace_ref: str) -> dict[str, Any]:
        return {"id": self.id, "account": self.account, "trace": trace_ref, "answer": self.answer,
                "truth": self.truth, "verdict": self.verdict, "score": self.score,
                "metadata": self.metadata}


def verdict_of(obj: dict[str, Any]) -> str | None:
    """The verdict, given directly or derived from a score (>= 0.5 correct)."""
    verdict = obj.get("verdict")
    if isinstance(verdict, str) and verdict.lower() in VERDICTS:
        return verdict.lower()
    score = obj.get("score")
    if verdict is None and isinstance(score, int | float) and not isinstance(score, bool):
        return "correct" if score >= 0.5 else "wrong"
    return None


def _entry_problems(obj: Any) -> list[str]:
    if not isinstance(obj, dict):
        return ["each line must be a JSON object"]
    problems = []
    for key in ("id", "account", "trace"):
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            problems.append(f"'{key}' must be a non-empty string")
        elif key != "trace" and not SAFE_NAME.match(value):
            problems.append(f"'{key}' {value!r} must match {SAFE_NAME.pattern} (it names a folder)")
    for key in ("answer", "truth"):
        if not isinstance(obj.get(key, ""), str):
            problems.append(f"'{key}' must be a string")
    score = obj.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        problems.append("'score' must be a number")
    if verdict_of(obj) is None:
        problems.append(f"needs 'verdict' (one of {', '.join(VERDICTS)}) or a numeric 'score'")
    if not isinstance(obj.get("metadata", {}), dict):
        problems.append("'metadata' must be an object")
    return problems


def read_manifest(path: Path | str) -> list[ManifestEntry]:
    """Parse and check a manifest; raise one FatalError listing the first problems with locations."""
    path = Path(path)
    if not path.is_file():
        raise FatalError(f"manifest not found: {path}", hint="pass the path of a .jsonl file")
    entries: list[ManifestEntry] = []
    problems = LineProblems()
    seen: dict[str, int] = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    for lineno, _raw, obj in json_lines(text, problems):
        found = _entry_problems(obj)
        if not found:
            trace = (path.parent / obj["trace"]).resolve()
            if obj["id"] in seen:
                found.append(f"duplicate id {obj['id']!r} (first on line {seen[obj['id']]})")
            elif not trace.is_file():
                found.append(f"trace file not found: {obj['trace']}")
        problems.add(lineno, found)
        if found:
            continue
        seen[obj["id"]] = lineno
        score = obj.get("score")
        entries.append(ManifestEntry(
            id=obj["id"], account=obj["account"], trace=trace, answer=obj.get("answer", ""),
            truth=obj.get("truth", ""), verdict=verdict_of(obj) or "wrong",
            score=float(score) if score is not None else None, metadata=obj.get("metadata", {}),
            line=lineno, raw=obj))
    problems.raise_any(path, hint="fix the manifest; nothing was imported")
    if not entries:
        raise FatalError(f"manifest has no investigations: {path}", location=f"{path}:1")
    return entries
