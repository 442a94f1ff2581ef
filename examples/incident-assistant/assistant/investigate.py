"""One investigation: an alert and the logs recorded with it in, a root cause out (JSON).

    python -m assistant investigate < incident.json        # what `agentbook backtest run` calls

The pipeline: the logql prompt turns "show me the error lines of <service>" into a LogQL query, the
Loki tool runs it (against the incident's recorded logs), the root-cause prompt reads the lines it
returned and answers with JSON, which is parsed into the answer. Every model call is traced by
agentbook's model layer when `AGENTBOOK_TRACE_FILE` is set; the tool call and the parse are added to
the same trace here.
"""

from __future__ import annotations

import json
import os
from typing import Any

from agentbook.models import tracing

from assistant.accounts import Account
from assistant.harness import ask
from assistant.tools import loki

DEFAULT_MODEL = "scripted:backtest/run/production.script.yaml"
LOKI_LIMIT = 100  # lines per query, newest first (the live tool's default is 500)
NO_LINES = "(no log lines matched the query)"


async def investigate(incident: dict[str, Any], model: str | None = None) -> dict[str, Any]:
    """The answer for one incident: `root_cause`, `component`, `confidence`, `evidence`."""
    spec = model or os.environ.get("AGENTBOOK_MODEL") or DEFAULT_MODEL
    account = Account(tenant=incident.get("tenant", "default"), loki_url="recorded://")
    question = f"Show me error lines from {incident['service']} around the alert"
    query = await ask("logql", {"question": question, "labels": account.labels_text}, spec)
    lines = _run_query(query, incident.get("logs") or [])
    evidence = "\n".join(reversed(lines)) or NO_LINES  # the prompt wants them oldest first
    text = await ask("root-cause", {"alert": incident["alert"], "evidence": evidence}, spec)
    answer = parse_answer(text)
    tracing.annotate(**{"app.answer.component": str(answer.get("component")), "app.loki.lines": len(lines)})
    return answer


def _run_query(query: str, recorded: list[str]) -> list[str]:
    args = {"query": query, "limit": LOKI_LIMIT}
    try:
        lines = loki.replay(loki.LokiQuery("recorded://", query, limit=LOKI_LIMIT), recorded)
    except loki.LogQLError as err:
        tracing.record_tool("loki.query_range", args, str(err), is_error=True)
        return []
    tracing.record_tool("loki.query_range", args, "\n".join(lines) or "0 lines")
    return lines


def parse_answer(text: str) -> dict[str, Any]:
    """The model's JSON answer as a dict; an answer that does not parse becomes an "unknown" one."""
    try:
        answer = json.loads(text)
    except json.JSONDecodeError as err:
        tracing.record_tool("parse_answer", {"chars": len(text), "starts": text[:40]},
                            f"JSONDecodeError: {err}", is_error=True)
        return {"root_cause": "the model's answer could not be parsed", "component": "unknown",
                "confidence": 0.0, "evidence": []}
    if not isinstance(answer, dict):
        return {"root_cause": str(answer), "component": "unknown", "confidence": 0.0, "evidence": []}
    return answer
