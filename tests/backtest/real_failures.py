"""Backtests built from failures that people annotated, not from a generator (tests/backtest).

The data is third-party (MIT): a small extract in `tests/backtest/data/agent-failures/`, with a
PROVENANCE file saying where each file came from (source repository, commit, licence) and the script
that rebuilds it. `$AGENTBOOK_FAILURES` points elsewhere (another extract); `data_dir()` returns None
when the folder it names lacks the files, and callers skip with a reason.

Each annotated failure becomes one failed investigation whose analysis is what the annotator wrote:
the finding (`failure_mode`) is the human-written reason, the summary the annotator's one-line summary
of the run where there is one, the suspected component the agent the annotator blamed
(`agents/<agent>.py`; the datasets name agents, not files). Nothing else is invented: no stage
(`other`), no error text, no proposed change. The truth is the annotator's category, at two levels:

  category        the dataset's failure category (AgentRx's taxonomy: "Misinterpretation of Tool Output",
                  "Guardrails Triggered", ...); a failure with no category (or "Inconclusive") is causeless
  agent-category  the blamed agent and the category together ("orchestrator/misinterpretation-..."),
                  closer to what a cohort is meant to be: one thing to change in one place

Datasets (see PROVENANCE.md beside the data):

  agentrx-tau             tau-bench retail customer-service agent (AgentRx): the root-cause failure of
                          each trajectory, its reason and the run's failure summary
  agentrx-magentic        Magentic-One web/file agents on GAIA/AssistantBench tasks (AgentRx), likewise
  whowhen-magentic        the same Magentic-One failures, the finding written by another team (Who&When's
                          `mistake_reason`, blamed agent `mistake_agent`), the category still AgentRx's
  agentrx-magentic-steps  every annotated failure step of the Magentic-One runs (several per run), each its
                          own investigation, the run as its account
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# This module is also loaded by path from bench/, so the folder is found from this file, not a conftest.
DATA = Path(os.environ.get("AGENTBOOK_FAILURES") or Path(__file__).resolve().parent / "data" / "agent-failures")
DATASETS = ("agentrx-tau", "agentrx-magentic", "whowhen-magentic", "agentrx-magentic-steps")
LEVELS = ("category", "agent-category")
CAUSELESS = {"", "inconclusive"}


@dataclass(frozen=True)
class Annotated:
    id: str
    account: str
    finding: str
    summary: str | None
    agent: str
    category: str | None  # None: the annotator gave no usable category
    question: str

    def cause(self, level: str) -> str | None:
        if self.category is None:
            return None
        return self.category if level == "category" else f"{self.agent}/{self.category}"


def data_dir() -> Path | None:
    """The extract's folder, or None when it is not on this machine."""
    folder = DATA
    return folder if (folder / "agentrx" / "magentic_one_ground_truth.json").is_file() else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _category(raw: str | None) -> str | None:
    slug = _slug(raw or "")
    return None if slug in CAUSELESS else slug


def _agent(raw: str | None) -> str:
    return _slug(raw or "") or "unknown"


def _root(run: dict[str, Any]) -> dict[str, Any] | None:
    wanted = str((run.get("root_cause") or {}).get("failure_id"))
    return next((f for f in run["failures"] if str(f["failure_id"]) == wanted), None)


def _agentrx(data: Path, name: str) -> list[dict[str, Any]]:
    runs, seen = [], set()
    for run in json.loads((data / "agentrx" / name).read_text()):
        if str(run["trajectory_id"]) not in seen:  # the tau file lists some trajectories twice
            seen.add(str(run["trajectory_id"]))
            runs.append(run)
    return runs


def _roots(data: Path, name: str, prefix: str) -> list[Annotated]:
    out = []
    for n, run in enumerate(_agentrx(data, name), 1):
        root = _root(run)
        summary = run.get("failure_summary") or None
        finding = (root or {}).get("step_reason", "").strip() or summary or "the annotator gave no reason"
        out.append(Annotated(id=f"{prefix}-{n:03d}", account=prefix, finding=finding, summary=summary,
                             agent=_agent((root or {}).get("failed_agent")),
                             category=_category((root or {}).get("failure_category")), question=str(run["trajectory_id"])))
    return out


def _steps(data: Path) -> list[Annotated]:
    out = []
    for n, run in enumerate(_agentrx(data, "magentic_one_ground_truth.json"), 1):
        for step in run["failures"]:
            finding = step.get("step_reason", "").strip() or "the annotator gave no reason"
            out.append(Annotated(id=f"mstep-{n:03d}-{step['failure_id']}", account=f"run-{n:03d}", finding=finding,
                                 summary=None, agent=_agent(step.get("failed_agent")),
                                 category=_category(step.get("failure_category")), question=str(run["trajectory_id"])))
    return out


def _whowhen(data: Path) -> list[Annotated]:
    categories = {str(run["trajectory_id"]): _category((_root(run) or {}).get("failure_category"))
                  for run in _agentrx(data, "magentic_one_ground_truth.json")}
    out, seen = [], set()
    for line in (data / "whowhen" / "annotations.jsonl").read_text().splitlines():
        row = json.loads(line)
        qid = row["question_ID"]
        if qid in categories and qid not in seen and "/Hand-Crafted/" in row["file"]:
            seen.add(qid)
            out.append(Annotated(id=f"ww-{len(out) + 1:03d}", account="whowhen", finding=row["mistake_reason"].strip(),
                                 summary=None, agent=_agent(row["mistake_agent"]), category=categories[qid],
                                 question=row["question"]))
    return out


def annotated(dataset: str, data: Path) -> list[Annotated]:
    if dataset == "agentrx-tau":
        return _roots(data, "tau_ground_truth.json", "tau")
    if dataset == "agentrx-magentic":
        return _roots(data, "magentic_one_ground_truth.json", "magentic")
    if dataset == "whowhen-magentic":
        return _whowhen(data)
    if dataset == "agentrx-magentic-steps":
        return _steps(data)
    raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")


def _trace(a: Annotated) -> dict[str, Any]:
    """A one-span trace: the datasets' conversations are not part of the extract, only the task."""
    trace_id = hashlib.sha256(a.id.encode()).hexdigest()[:32]
    span = {"traceId": trace_id, "spanId": trace_id[:16], "name": "agent.run", "kind": 1,
            "startTimeUnixNano": "1770000000000000000", "endTimeUnixNano": "1770000001000000000",
            "attributes": [{"key": "input.value", "value": {"stringValue": a.question}}],
            "status": {"code": 2, "message": "task failed"}}
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": a.account}}]},
                               "scopeSpans": [{"scope": {"name": "annotated"}, "spans": [span]}]}]}


def _analysis(a: Annotated) -> dict[str, Any]:
    analysis: dict[str, Any] = {
        "id": a.id, "verdict": "wrong", "failure_mode": a.finding[:2000], "error_signature": None, "stage": "other",
        "first_wrong_step": None, "suspected": [{"kind": "component", "path": f"agents/{a.agent}.py", "line": None}],
        "evidence": [{"path": "trace/README.md"}], "proposed_change": None, "confidence": 1.0}
    if a.summary:
        analysis["summary"] = a.summary[:2000]
    return analysis


def generate(out: Path, dataset: str, data: Path) -> list[Annotated]:
    """Write manifest.jsonl, traces/, planted.jsonl (the truth at every level) and analyses.jsonl."""
    rows = annotated(dataset, data)
    (out / "traces").mkdir(parents=True, exist_ok=True)
    manifest, planted = [], []
    for a in rows:
        (out / "traces" / f"{a.id}.json").write_text(json.dumps(_trace(a)))
        manifest.append({"id": a.id, "account": a.account, "trace": f"traces/{a.id}.json", "answer": "(failed)",
                         "truth": "the task's reference answer", "verdict": "wrong", "score": 0.0})
        planted.append({"id": a.id, "account": a.account, "cause": a.cause("category"),
                        **{level: a.cause(level) for level in LEVELS}})
    (out / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
    (out / "planted.jsonl").write_text("".join(json.dumps(p) + "\n" for p in planted))
    (out / "analyses.jsonl").write_text("".join(json.dumps(_analysis(a)) + "\n" for a in rows))
    return rows


def teams_agree(data: Path) -> tuple[int, int]:
    """On the Magentic-One failures both teams annotated: how many blame the same agent (of how many).
    A ceiling for `whowhen-magentic`: where the teams blame different agents they describe different steps."""
    agentrx = {str(run["trajectory_id"]): _agent((_root(run) or {}).get("failed_agent"))
               for run in _agentrx(data, "magentic_one_ground_truth.json")}
    same = total = 0
    seen: set[str] = set()
    for line in (data / "whowhen" / "annotations.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["question_ID"] in agentrx and row["question_ID"] not in seen and "/Hand-Crafted/" in row["file"]:
            seen.add(row["question_ID"])
            total += 1
            same += _agent(row["mistake_agent"]) == agentrx[row["question_ID"]]
    return same, total
