"""One analyst session over one investigation: the prompt in, a checked analysis out.

`analyse` is what every executor runs (asyncio, Ray); it raises `AnalysisFailed` with a reason the
folder records, and the next `analyze` run retries it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentbook.backtest.analysis import AnalysisInvalid, input_hash, parse_answer, system_prompt, task_prompt
from agentbook.backtest.folder import Investigation
from agentbook.backtest.tools import analyst_tools
from agentbook.models.base import Model
from agentbook.outcome import OutcomeKind
from agentbook.session import Budgets, Session, SessionConfig

REPAIR = ("[agentbook] Your answer is not a valid analysis: {error}. Reply with the corrected JSON object "
          "in one ```json block and nothing else.")


@dataclass
class AnalystSettings:
    """What every analysis in one `analyze` run shares (picklable: Ray ships it to workers)."""

    model: str
    prompt_hash: str
    code: str | None = None
    max_turns: int = 20
    max_usd: float | None = 1.0
    wall_seconds: float = 600.0
    transcripts: str | None = None  # folder for one transcript per investigation
    extra: dict[str, Any] = field(default_factory=dict)


class AnalysisFailed(Exception):
    """`fatal` means no other analysis can succeed either (bad key, spend limit): the run stops."""

    def __init__(self, reason: str, message: str, meta: dict[str, Any] | None = None, fatal: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.meta = meta or {}
        self.fatal = fatal


async def analyse(inv: Investigation, settings: AnalystSettings, model: Model | str) -> dict[str, Any]:
    """Run the analyst on `inv` and return the analysis (finding + id, account, meta)."""
    started = time.monotonic()
    code = Path(settings.code) if settings.code else None
    transcript = Path(settings.transcripts) / inv.account / f"{inv.id}.jsonl" if settings.transcripts else None
    if transcript:
        transcript.parent.mkdir(parents=True, exist_ok=True)
    config = SessionConfig(
        model=model, root=inv.path, system=system_prompt(code is not None), tools=list(analyst_tools(code)),
        budgets=Budgets(max_turns=settings.max_turns, max_usd=settings.max_usd,
                        wall_seconds=settings.wall_seconds),
        transcript_path=transcript, session_id=f"analyze-{inv.id}", metadata={"investigation": inv.id})
    hashed_input = await asyncio.to_thread(input_hash, inv)  # reads every file: keep it off the loop
    async with Session(config) as session:
        outcome = await session.send(task_prompt(inv))
        finding: dict[str, Any] | None = None
        error = ""
        if outcome.ok:
            try:
                finding = parse_answer(session.result().final_text)
            except AnalysisInvalid as err:
                error = str(err)
                outcome = await session.send(REPAIR.format(error=error))
                if outcome.ok:
                    try:
                        finding = parse_answer(session.result().final_text)
                    except AnalysisInvalid as again:
                        error = str(again)
        result = session.result()
    meta = {"model": settings.model, "mode": "live", "input_hash": hashed_input,
            "prompt_hash": settings.prompt_hash, "turns": result.turns, "usage": result.usage.to_json(),
            "cost_usd": round(result.cost_usd, 6), "cost_estimated": result.cost_estimated,
            "seconds": round(time.monotonic() - started, 3),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds")}
    if not outcome.ok:
        fatal = outcome.kind is OutcomeKind.API_ERROR and outcome.evidence.get("retryable") is False
        raise AnalysisFailed(outcome.kind.value, outcome.message, meta, fatal=fatal)
    if finding is None:
        raise AnalysisFailed("invalid_answer", error, meta)
    return {"id": inv.id, "account": inv.account, **finding, "meta": meta}
