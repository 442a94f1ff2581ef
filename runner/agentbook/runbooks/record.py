"""The run record: `.agentbook/runs/<run-id>/` in the main repository (never tracked).

- `run.json`        status, typed outcome, steps with their commits, budgets, cost, model, timings
- `checkpoint.json` the conversation at the end of the last finished step (what `--resume` loads)
- `transcript.jsonl`, `trace.otlp.json`  written by the session
- `report.md`       what was done, gates, diff stat, cost, what is left

Every file is written atomically, so a `kill -9` leaves the previous version readable.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentbook.errors import FatalError
from agentbook.fsutil import atomic_write_json
from agentbook.gitops.repo import check_state_folder
from agentbook.redaction import process_redactor

RUNNING = "running"  # status while a runner process works on it (or was killed doing so)
INTERRUPTED = "interrupted"  # stopped by SIGTERM/SIGINT at a saved state; resumable


def new_run_id(runbook: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{stamp}-{runbook[:32]}-{secrets.token_hex(3)}"


def pid_alive(pid: object) -> bool:
    """Whether `pid` is a live agentbook process (a recycled pid running something else is not)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"agentbook" in cmdline.read_bytes() if cmdline.parent.exists() else True
    except OSError:
        return False


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class GateResult:
    command: str
    exit_code: int
    output: str  # tail of stdout+stderr, bounded
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class StepRecord:
    index: int  # 1-based
    title: str
    status: str = "pending"  # pending | running | done | blocked | wip
    commit: str | None = None
    tries: int = 0  # gate rounds
    gates: list[dict[str, Any]] = field(default_factory=list)  # last GateResult of each gate
    started_at: str | None = None
    finished_at: str | None = None


@dataclass
class RunRecord:
    run_id: str
    runbook: str
    runbook_sha: str
    runbook_path: str
    model: str
    branch: str
    base: str
    base_sha: str
    worktree: str
    repo: str
    ticket: dict[str, Any]
    inputs: dict[str, Any]
    budgets: dict[str, Any]
    steps: list[StepRecord]
    status: str = RUNNING
    outcome: dict[str, Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    turns: int = 0
    cost_usd: float = 0.0
    cost_estimated: bool = False
    head: str | None = None
    started_at: str = field(default_factory=now_iso)
    finished_at: str | None = None
    seconds: float = 0.0
    resumes: int = 0
    pid: int | None = None
    push: dict[str, Any] | None = None
    pull_request: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)  # gate_retries, push/PR flags, for resume
    # seconds per phase: plan, worktree, model (session turns incl. tools), gates, commits, finish
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        data = dict(data)
        data["steps"] = [StepRecord(**s) for s in data.get("steps", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def compact_json(data: dict[str, Any], *, text_budget: int = 600) -> dict[str, Any]:
    """A run record for agent-facing output: no rendered prompt, long texts cut with a pointer to
    run.json, so `--json` stays a few KB however long the ticket or the gate output was."""
    out = {k: v for k, v in data.items() if k != "options"}

    def cut(text: str) -> str:
        return text if len(text) <= text_budget else text[:text_budget] + f"[... {len(text) - text_budget} " \
            "characters more in run.json]"

    out["ticket"] = {**data["ticket"], "body": cut(str(data["ticket"].get("body", "")))}
    out["steps"] = [{**s, "gates": [{**g, "output": cut(g["output"])} for g in s["gates"]]} for s in data["steps"]]
    if out.get("outcome") and "output" in (out["outcome"].get("evidence") or {}):
        evidence = out["outcome"]["evidence"]
        out["outcome"] = {**out["outcome"], "evidence": {**evidence, "output": cut(str(evidence["output"]))}}
    return out


class RunDir:
    """The files of one run."""

    def __init__(self, runs_root: Path, run_id: str) -> None:
        self.run_id = run_id
        self.path = runs_root / run_id
        self.run_json = self.path / "run.json"
        self.checkpoint = self.path / "checkpoint.json"
        self.transcript = self.path / "transcript.jsonl"
        self.trace = self.path / "trace.otlp.json"
        self.report = self.path / "report.md"

    def save(self, record: RunRecord) -> None:
        # gate output, outcome messages and notes can quote what the agent wrote: no held secret stays
        atomic_write_json(self.run_json, process_redactor().json(record.to_json()))

    def load(self) -> RunRecord:
        try:
            data = json.loads(self.run_json.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FatalError(f"no run '{self.run_id}'", hint="agentbook runs list shows the runs") from None
        except json.JSONDecodeError as err:
            raise FatalError(f"run record is corrupt: {err.msg}", location=str(self.run_json)) from None
        return RunRecord.from_json(data)

    def save_checkpoint(self, data: dict[str, Any]) -> None:
        atomic_write_json(self.checkpoint, data)

    def load_checkpoint(self) -> dict[str, Any] | None:
        if not self.checkpoint.exists():
            return None
        loaded: dict[str, Any] = json.loads(self.checkpoint.read_text(encoding="utf-8"))
        return loaded


def runs_root(repo_root: Path) -> Path:
    return check_state_folder(repo_root) / "runs"


def list_runs(repo_root: Path) -> list[RunRecord]:
    """Every readable run, newest first (run ids start with a UTC timestamp)."""
    root = runs_root(repo_root)
    out: list[RunRecord] = []
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir(), reverse=True):
        if (d / "run.json").is_file():
            try:
                out.append(RunDir(root, d.name).load())
            except (FatalError, TypeError, KeyError):
                continue  # a run written by an incompatible version; `runs show` reports it
    return out


def find_run(repo_root: Path, run_id: str) -> RunDir:
    """The run dir for `run_id`, which may be a unique prefix."""
    root = runs_root(repo_root)
    exact = RunDir(root, run_id)
    if exact.run_json.exists():
        return exact
    matches = sorted(d.name for d in root.iterdir() if d.name.startswith(run_id)) if root.is_dir() else []
    if len(matches) == 1:
        return RunDir(root, matches[0])
    if len(matches) > 1:
        raise FatalError(f"run id '{run_id}' is ambiguous", hint=f"matches: {', '.join(matches[:5])}")
    raise FatalError(f"no run '{run_id}' in {root}", hint="agentbook runs list shows the runs")
