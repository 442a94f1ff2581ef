"""`analyze --executor ray`: the same analyses as Ray tasks, for backtests bigger than one machine.

The driver keeps at most `concurrency` tasks in flight and is the only writer of the folder; each task
opens its own model (a connection pool per worker process) and returns the analysis, or the failure,
as plain data. Tasks need the backtest folder at the same path (a shared filesystem on a cluster).
Connects to `RAY_ADDRESS` when set, to an already initialised Ray, or starts a local instance.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from agentbook.backtest.analyst import AnalysisFailed, AnalystSettings
from agentbook.backtest.deps import need
from agentbook.backtest.folder import Investigation


def _task(inv: Investigation, settings: AnalystSettings) -> dict[str, Any]:
    """Runs in a Ray worker: one analysis with a model of its own; the result as plain data."""
    from agentbook.backtest.analyze import analyse_safely
    from agentbook.models import load_model

    async def go() -> dict[str, Any] | AnalysisFailed:
        model = load_model(settings.model)
        try:
            return await analyse_safely(inv, settings, model)
        finally:
            await model.aclose()

    result = asyncio.run(go())
    if isinstance(result, AnalysisFailed):
        return {"failed": {"reason": result.reason, "message": str(result), "meta": result.meta}}
    return {"analysis": result}


def run_ray(todo: list[Investigation], settings: AnalystSettings, concurrency: int,
            on_start: Callable[[Investigation], None],
            on_result: Callable[[Investigation, dict[str, Any] | AnalysisFailed], None]) -> None:
    ray = need("ray", "--executor ray")
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False,
                 log_to_driver=False)
    remote = ray.remote(max_retries=0)(_task)  # a retry is the pipeline's call, not Ray's
    pending: dict[Any, Investigation] = {}
    queue = iter(todo)
    while True:
        while len(pending) < concurrency:
            inv = next(queue, None)
            if inv is None:
                break
            on_start(inv)
            pending[remote.remote(inv, settings)] = inv
        if not pending:
            return
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            inv = pending.pop(ref)
            try:
                out = ray.get(ref)
            except Exception as err:  # noqa: BLE001 - a dead worker fails this one analysis, not the run
                on_result(inv, AnalysisFailed("crashed", f"ray task failed: {type(err).__name__}: {err}"))
                continue
            if "failed" in out:
                f = out["failed"]
                on_result(inv, AnalysisFailed(f["reason"], f["message"], f["meta"]))
            else:
                on_result(inv, out["analysis"])
