"""What `analyze` records outside the investigations: an append-only event log and a run lock.

`.agentbook/analyze.jsonl` gets one line per start, finish and failure (flushed), so after a crash it
tells which investigations were in flight, and tests can check that nothing finished was started again.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from agentbook.backtest.analysis import render_markdown
from agentbook.backtest.folder import ANALYSIS_ERROR, ANALYSIS_JSON, ANALYSIS_MD, Investigation
from agentbook.fsutil import atomic_write_json, atomic_write_text, exclusive_lock, read_jsonl
from agentbook.redaction import process_redactor


class EventLog:
    """Lines are flushed to the kernel, not fsynced: a killed process loses none (only a machine crash
    could), and the analyses themselves are fsynced where it matters, in their atomic writes."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        path.parent.mkdir(parents=True, exist_ok=True)

    def event(self, kind: str, inv_id: str, **extra: Any) -> None:
        line = json.dumps({"event": kind, "id": inv_id, "run": self.run_id, "t": round(time.time(), 3), **extra})
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def done_ids(self) -> set[str]:
        """The ids any run of this log has logged `done` for."""
        return {e["id"] for e in read_jsonl(self.path) if e.get("event") == "done" and isinstance(e.get("id"), str)}

    def recover_done(self, done: list[Investigation]) -> None:
        """A kill between writing an analysis and logging it leaves a finished investigation whose `done`
        the log never saw: log it now (marked recovered), so the log names every finished one."""
        logged = self.done_ids()
        for inv in done:
            if inv.id not in logged:
                meta = (inv.analysis() or {}).get("meta") or {}
                self.event("done", inv.id, cost_usd=meta.get("cost_usd", 0), recovered=True)


def run_lock(path: Path) -> contextlib.AbstractContextManager[None]:
    """One `analyze` per backtest at a time; the kernel drops the lock when the process dies."""
    return exclusive_lock(path, f"another `agentbook backtest analyze` is running on {path.parent.parent}",
                          hint="wait for it to finish, or stop it; a killed run releases the lock")


def save_analysis(inv: Investigation, analysis: dict[str, Any]) -> None:
    """analysis.md first, then analysis.json (the marker that the investigation is done), both atomic. The
    analyst quotes the traces, which may hold a secret this process holds: both are redacted (the report,
    the cohorts and the fix tickets are made from them)."""
    analysis = process_redactor().json(analysis)
    atomic_write_text(inv.path / ANALYSIS_MD, render_markdown(inv, analysis))
    atomic_write_json(inv.path / ANALYSIS_JSON, analysis)
    with contextlib.suppress(FileNotFoundError):
        (inv.path / ANALYSIS_ERROR).unlink()


def save_failure(inv: Investigation, reason: str, message: str, meta: dict[str, Any]) -> None:
    failure = {"reason": reason, "message": message, "meta": meta}
    atomic_write_json(inv.path / ANALYSIS_ERROR, process_redactor().json(failure))
