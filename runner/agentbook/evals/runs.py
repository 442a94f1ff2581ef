"""Stored eval runs: one JSON file per run beside the suite, so `list` shows the last verdict and `diff`
shows which cases flipped between two runs."""

from __future__ import annotations

import json
from pathlib import Path

from agentbook.errors import FatalError
from agentbook.evals import state
from agentbook.fsutil import atomic_write_json, file_lock
from agentbook.records import Record

TYPE_CHECKING = False  # `typing` at run time would cost `agentbook eval list` several ms
if TYPE_CHECKING:
    from typing import Any


def save_run(suite_path: Path, run: dict[str, Any]) -> Path:
    folder = state.runs_dir(suite_path)
    path = folder / f"{run['run_id']}.json"
    atomic_write_json(path, run)
    # the last verdict of every case, kept small so `eval list` does not read whole runs
    with file_lock(folder / ".verdicts.lock"):
        verdicts = last_verdicts(suite_path)
        verdicts.update({c["id"]: c["verdict"] for c in run.get("cases", [])})
        atomic_write_json(folder / "verdicts.json", verdicts)
    atomic_write_json(folder / "latest.json", {"run_id": run["run_id"]})
    return path


def list_runs(suite_path: Path) -> list[str]:
    folder = state.runs_dir(suite_path)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.name not in ("latest.json", "verdicts.json"))


def load_run(suite_path: Path, run_id: str) -> dict[str, Any]:
    asked = run_id
    if run_id in ("latest", "last", "@1"):
        run_id = _latest(suite_path) or ""
    elif run_id.startswith("@") and run_id[1:].isdigit():  # @2 = the run before the last
        runs = list_runs(suite_path)
        n = int(run_id[1:])
        run_id = runs[-n] if 0 < n <= len(runs) else ""
    # a run id names a file in the suite's runs folder, nothing else: `../x` would read any JSON file
    plain = bool(run_id) and "/" not in run_id and "\\" not in run_id and not run_id.startswith(".")
    path = state.runs_dir(suite_path) / f"{run_id}.json"
    if not plain or not path.is_file():
        raise _unknown_run(suite_path, asked)
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise FatalError(f"cannot read run {run_id}: {err}", location=str(path)) from None
    return loaded


def _unknown_run(suite_path: Path, asked: str) -> FatalError:
    """Which name was wrong, and for `@N` how far back the stored runs go."""
    stored = list_runs(suite_path)
    known = ", ".join(stored[-5:]) or "none yet"
    where = ""
    if asked.startswith("@") and stored:
        where = f": {len(stored)} run{'s are' if len(stored) != 1 else ' is'} stored, @1 (latest) to @{len(stored)}"
    return FatalError(f"unknown run {asked!r} for {suite_path}{where}",
                      hint=f"recent runs: {known}; `agentbook eval run SUITE` makes one")


def case_result(run: dict[str, Any], case_id: str) -> dict[str, Any]:
    """The stored result of one case in `run` (verdict, attempts with their checks and answers)."""
    for case in run.get("cases", []):
        if case.get("id") == case_id:
            return dict(case)
    ran = ", ".join(str(c.get("id")) for c in run.get("cases", [])[:10]) or "none"
    raise FatalError(f"run {run.get('run_id')} did not run case {case_id!r}",
                     hint=f"it ran: {ran}; `agentbook eval run SUITE --case {case_id}` makes a run that does")


def _latest(suite_path: Path) -> str | None:
    pointer = state.runs_dir(suite_path) / "latest.json"
    try:
        return str(json.loads(pointer.read_text(encoding="utf-8"))["run_id"])
    except (OSError, ValueError, KeyError):
        runs = list_runs(suite_path)
        return runs[-1] if runs else None


def last_verdicts(suite_path: Path) -> dict[str, str]:
    """case id -> verdict (pass | fail | error) of the most recent run that ran that case."""
    try:
        loaded = json.loads((state.runs_dir(suite_path) / "verdicts.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


class Flip(Record):
    __slots__ = ("after", "before", "id")

    def __init__(self, id: str, before: str, after: str) -> None:
        self.id = id
        self.before = before
        self.after = after

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "before": self.before, "after": self.after}


def diff_runs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    va = {c["id"]: c for c in a.get("cases", [])}
    vb = {c["id"]: c for c in b.get("cases", [])}
    flips = [Flip(i, va[i]["verdict"], vb[i]["verdict"]) for i in va if i in vb
             and va[i]["verdict"] != vb[i]["verdict"]]
    rate = [{"id": i, "before": va[i]["stats"]["pass_rate"], "after": vb[i]["stats"]["pass_rate"]}
            for i in va if i in vb and va[i]["verdict"] == vb[i]["verdict"]
            and va[i]["stats"]["pass_rate"] != vb[i]["stats"]["pass_rate"]]
    return {"run_a": a["run_id"], "run_b": b["run_id"], "compared": len(set(va) & set(vb)),
            "flipped": [f.to_json() for f in flips],
            "rate_changed": rate, "only_in_a": sorted(set(va) - set(vb)),
            "only_in_b": sorted(set(vb) - set(va))}
