"""`--executor ray` for `backtest analyze` and `backtest run`: the same work as Ray tasks, for backtests
bigger than one machine.

Both commands share `as_finished`: connect to Ray (`RAY_ADDRESS` when set, an already initialised Ray,
or a local instance), keep at most `concurrency` tasks in flight, and hand each result back to the
driver as it finishes, so the driver stays the only writer of the folder; a task Ray lost comes back as
`TaskDied`, never raised, so one dead worker fails one item. Tasks need the folder at the same path (a
shared filesystem on a cluster). What a task is and what its failure becomes stay with each command:
an analysis opens its own model (a connection pool per worker process) and comes back as plain data
(`_task`, `run_ray` here); a run's investigation is `invoke.investigate` as it is, in produce.py.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from agentbook.backtest.analyst import AnalysisFailed, AnalystSettings
from agentbook.backtest.deps import need
from agentbook.backtest.folder import Investigation

Item = TypeVar("Item")


class TaskDied(Exception):
    """A Ray task that raised or whose worker died: the message says which."""


def as_finished(fn: Callable[..., Any], items: Iterable[Item], concurrency: int,
                on_start: Callable[[Item], None], *args: Any) -> Iterator[tuple[Item, Any]]:
    """`fn(item, *args)` as Ray tasks, at most `concurrency` in flight, started lazily; yields (item, its
    result) as each finishes, with a `TaskDied` for a result where the task failed."""
    ray = need("ray", "--executor ray")
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(max_retries=0)(fn)  # a retry is the pipeline's call, not Ray's
    pending: dict[Any, Item] = {}
    queue = iter(items)
    while True:
        while len(pending) < concurrency and (item := next(queue, None)) is not None:
            on_start(item)
            pending[remote.remote(item, *args)] = item
        if not pending:
            return
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            item = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as err:  # noqa: BLE001 - a dead worker fails this one item, not the run
                result = TaskDied(f"ray task failed: {type(err).__name__}: {err}")
            yield item, result


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
    for inv, out in as_finished(_task, todo, concurrency, on_start, settings):
        if isinstance(out, TaskDied):
            on_result(inv, AnalysisFailed("crashed", str(out)))
        elif "failed" in out:
            f = out["failed"]
            on_result(inv, AnalysisFailed(f["reason"], f["message"], f["meta"]))
        else:
            on_result(inv, out["analysis"])
