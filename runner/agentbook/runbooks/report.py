"""`report.md`: what a run did, for the developer, the PR body and the git note on the branch head.

What the ticket's author may steer (the ticket's title, the runbook's step titles and checks, a check's
output, the files' names, the outcome's message, the agent's last words) is shown literally, as code
(`gitops/inert.py`): in a pull request it could otherwise fake a section, hide text or load an image.
"""

from __future__ import annotations

from agentbook.gitops.inert import block, span
from agentbook.runbooks.record import RunRecord

MAX_SUMMARY = 3000


def render_report(record: RunRecord, *, diff_stat: str, summary: str) -> str:
    outcome = record.outcome or {"kind": record.status, "message": ""}
    commits = [s for s in record.steps if s.commit]
    lines = [f"# agentbook run {record.run_id}", "",
             f"- **Outcome:** `{outcome['kind']}`" + (f": {span(outcome['message'])}" if outcome.get("message") else ""),
             f"- **Runbook:** `{record.runbook}@{record.runbook_sha[:12]}`",
             f"- **Ticket:** {span(str(record.ticket.get('id')))}" + (f": {span(record.ticket['title'])}" if record.ticket.get("title")
                                                           else ""),
             (f"- **Branch:** `{record.branch}` from `{record.base}` ({record.base_sha[:12]}), "
             f"{len(commits)} commit{'s' if len(commits) != 1 else ''}"),
             (f"- **Model:** `{record.model}`, {record.turns} turns, {_tokens(record.usage)} tokens, "
             f"cost ${record.cost_usd:.4f}{' (estimated)' if record.cost_estimated else ''}"),
             f"- **Time:** {record.seconds:.1f}s" + (f", resumed {record.resumes}x" if record.resumes else ""),
             "", "## Steps", "", "| # | step | status | commit | checks |", "|---|---|---|---|---|"]
    for s in record.steps:
        gates = ", ".join(("pass" if g["exit_code"] == 0 else f"FAIL ({g['exit_code']})") for g in s.gates) or "-"
        if s.tries > 1:
            gates += f" ({s.tries} tries)"
        lines.append(f"| {s.index} | {_cell(s.title)} | {s.status} | {s.commit[:10] if s.commit else '-'} | {gates} |")
    failing = [(s, g) for s in record.steps for g in s.gates if g["exit_code"] != 0]
    if failing:
        lines += ["", "## Failing checks"]
        for s, g in failing:
            lines += ["", f"Step {s.index} {span(g['command'])} exited {g['exit_code']}:", "",
                      block(g["output"].rstrip()[-2000:], "(no output)")]
    lines += ["", "## Changes", "", block(diff_stat, "(no changes)")]
    left = [s for s in record.steps if s.status != "done"]
    lines += ["", "## What is left", ""]
    lines += [f"- step {s.index}: {span(s.title)} ({s.status})" for s in left] or ["- nothing: every step is done"]
    if summary.strip():
        text = summary.strip()
        if len(text) > MAX_SUMMARY:
            text = text[:MAX_SUMMARY] + "\n[... cut; the transcript has the rest]"
        lines += ["", "## The agent's last words", "", block(text)]
    lines += ["", f"Run record: `.agentbook/runs/{record.run_id}/` (run.json, transcript.jsonl, trace.otlp.json)"]
    return "\n".join(lines) + "\n"


def _tokens(usage: dict[str, int]) -> int:
    return sum(int(usage.get(k, 0)) for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                                              "cache_read_input_tokens"))


def _cell(text: str) -> str:
    return span(text).replace("|", "\\|")  # GitHub splits a table's cells on | even inside a code span
